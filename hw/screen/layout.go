package screen

import (
	"fmt"
	"image"
	"image/color"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// Role is a text's place in the type scale. Sizes are cap heights as fractions of the panel
// height, so a 1024x600 and a 1280x720 panel look alike from across the room.
type Role int

// The type scale.
const (
	Body  Role = iota // sentences: cap height 8% of the height (48 px at 600, 58 px at 720)
	Title             // the screen's one message: 11%
	Clock             // the time on the idle screen: 20%
)

// capHeight is each role's cap height as a fraction of the panel height.
var capHeight = [...]float64{Body: 0.08, Title: 0.11, Clock: 0.20}

// maxLines is the most lines a block of each role may take; a longer text (a clinic's
// name of a hundred letters) is cut short with an ellipsis so the screen's message still
// fits.
var maxLines = [...]int{Body: 4, Title: 3, Clock: 1}

// minScale is how far a layout that does not fit (a very long clinic name) may shrink its
// text before it is cut short instead: body text stays at 0.08*0.85 = 6.8% of the height,
// 41 px on a 600-line panel.
const minScale = 0.85

// The palette, read-only. Every text/background pair is at least MinContrast apart (tested).
var (
	navy   = color.RGBA{0x0b, 0x1c, 0x30, 0xff} // background
	white  = color.RGBA{0xff, 0xff, 0xff, 0xff} // text
	yellow = color.RGBA{0xff, 0xe2, 0x7a, 0xff} // what to look at: times, the phone number, "microphone off"
	black  = color.RGBA{0x00, 0x00, 0x00, 0xff} // letterbox; text on yellow
	green  = color.RGBA{0x00, 0xa6, 0x50, 0xff} // the Join button's colour (a shape, not text)
)

// Item is one block of text on the screen.
type Item struct {
	Role  Role
	Text  string   // as written, before wrapping
	Lines []string // as drawn
	// Rect is where the block is drawn; with Box it includes the box's padding.
	Rect   image.Rectangle
	FG, BG color.RGBA
	// Box draws BG behind the text as an opaque box (text over video).
	Box bool
	// UnderVideo marks text shown only while there is no remote picture.
	UnderVideo bool
	// Dot draws a filled circle of this colour before the text (the green button), when
	// its alpha is not zero.
	Dot color.RGBA

	scale float64 // the type scale place chose (1, or less for text that had to shrink)
}

// Layout is what a screen draws, worked out from a View and the panel's size. Tests read
// the strings from it; the renderer draws exactly these.
type Layout struct {
	Kind       Kind
	Size       image.Point
	Background color.RGBA
	Items      []Item
	// Self is where the self-view goes in a call (empty otherwise); the remote video fills
	// the screen, letterboxed.
	Self image.Rectangle
}

// Text is every string on the screen, in order, joined by newlines (for tests and logs).
func (l Layout) Text() string {
	var b strings.Builder
	for i, it := range l.Items {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(it.Text)
	}
	return b.String()
}

func (l Layout) equal(o Layout) bool {
	return l.Kind == o.Kind && l.Size == o.Size && l.Background == o.Background && l.Self == o.Self &&
		slices.EqualFunc(l.Items, o.Items, func(a, b Item) bool {
			return a.Role == b.Role && a.Text == b.Text && a.Rect == b.Rect && a.FG == b.FG && a.BG == b.BG &&
				a.scale == b.scale && a.Box == b.Box && a.UnderVideo == b.UnderVideo && a.Dot == b.Dot && slices.Equal(a.Lines, b.Lines)
		})
}

// block is an item before it is placed.
type block struct {
	role   Role
	text   string
	fg     color.RGBA
	dot    color.RGBA
	gap    float64 // space above, in body line heights
	under  bool
	lines  []string
	height int
}

// Layout works out what v looks like on this renderer's panel.
func (r *Renderer) Layout(v View) Layout {
	now := v.Now.In(v.loc())
	l := Layout{Kind: v.Kind, Size: r.size, Background: navy}
	var blocks []block
	add := func(role Role, fg color.RGBA, gap float64, text string) {
		blocks = append(blocks, block{role: role, text: text, fg: fg, gap: gap})
	}
	appt := v.Appointment.In(v.loc())
	v.ClinicName, v.ClinicPhone, v.Problem = clean(v.ClinicName), clean(v.ClinicPhone), clean(v.Problem)
	clinic := shorten(v.ClinicName, maxName)
	if clinic == "" {
		clinic = "the clinic"
	}
	switch v.Kind {
	case Idle:
		if v.TooEarly && !v.JoinOpens.IsZero() {
			// Join was pressed before the window: say when it will work.
			opens := v.JoinOpens.In(v.loc())
			when := clock(opens)
			if d := day(now, opens); d != "today" {
				when = d + " at " + when
			}
			add(Body, white, 0, "It is too early to join")
			add(Title, yellow, 0.8, "You can join from "+when)
			if !v.Appointment.IsZero() {
				add(Body, white, 0.8, "Your appointment with "+clinic+" is at "+clock(appt))
			}
			break
		}
		add(Clock, white, 0, clock(now))
		add(Body, white, 0, now.Format("Monday 2 January"))
		if v.Appointment.IsZero() {
			add(Body, white, 0.8, "No appointments booked")
		} else {
			add(Body, white, 0.8, "Your next appointment")
			add(Title, yellow, 0, capitalise(day(now, appt))+" at "+clock(appt))
			if v.ClinicName != "" {
				add(Body, white, 0, "with "+clinic)
			}
		}
	case JoinWindow:
		switch {
		case v.Appointment.IsZero(): // not known (yet): say nothing wrong
			add(Body, white, 0, "It is time for your appointment with "+clinic)
		case appt.After(now):
			add(Body, white, 0, "Your appointment with "+clinic+" is at "+clock(appt))
		default:
			add(Body, white, 0, "Your appointment with "+clinic+" started at "+clock(appt))
		}
		// In auto mode the booth joins at the start time, so still being in the window
		// after it means it will not by itself (the patient left the waiting room, say):
		// then, as in button mode, Join is what to press.
		if v.AutoJoin && appt.After(now) {
			add(Title, yellow, 0.8, "Joining automatically at "+clock(appt))
			add(Body, white, 0.8, "You do not need to press anything")
		} else {
			blocks = append(blocks, block{role: Title, fg: yellow, dot: green, gap: 0.8,
				text: "Press the green button to join"})
		}
	case Waiting:
		add(Title, white, 0, "The clinician will be with you soon")
		if !v.WaitingSince.IsZero() {
			add(Body, yellow, 0.8, "You have waited "+minutes(v.Now.Sub(v.WaitingSince)))
		}
	case InCall:
		blocks = append(blocks, block{role: Body, fg: white, text: "Waiting for the clinician's picture", under: true})
	case Reconnecting:
		add(Title, white, 0, "Reconnecting")
		add(Body, yellow, 0.8, "Please wait. The booth is trying to connect again.")
	case Fault:
		add(Title, white, 0, "Sorry, something is wrong")
		problem := v.Problem
		if problem == "" {
			problem = "The booth is not working."
		}
		add(Body, white, 0.8, problem)
		if v.ClinicPhone != "" {
			add(Body, yellow, 0.8, "Please tell a member of staff, or call "+keepTogether(v.ClinicPhone))
		} else {
			add(Body, yellow, 0.8, "Please tell a member of staff.")
		}
	case Revoked:
		add(Title, white, 0, "Switched off")
		add(Body, white, 0.8, RevokedMessage)
		add(Body, yellow, 0.8, "Please tell a member of staff.")
	case WaitingRoom:
		var waiting []Waiter
		for _, w := range v.Queue {
			if !w.InCall {
				waiting = append(waiting, w)
			}
		}
		switch len(waiting) {
		case 0:
			add(Title, white, 0, "Nobody is waiting")
			add(Body, white, 0.8, clock(now))
		case 1:
			add(Title, white, 0, "1 patient waiting")
		default:
			add(Title, white, 0, fmt.Sprintf("%d patients waiting", len(waiting)))
		}
		const shown = 2
		for i, w := range waiting {
			if i == shown {
				add(Body, white, 0, fmt.Sprintf("and %d more", len(waiting)-shown))
				break
			}
			gap := 0.0
			if i == 0 {
				gap = 0.8
			}
			waited := "just arrived"
			if d := v.Now.Sub(w.Since); d >= time.Minute {
				waited = "waited " + minutes(d)
			}
			add(Body, white, gap, shorten(clean(w.Name), maxPerson)+", "+waited)
		}
		if len(waiting) > 0 {
			blocks = append(blocks, block{role: Body, fg: yellow, dot: green, gap: 0.8,
				text: "Press the green button to see " + shorten(clean(waiting[0].Name), maxPerson)})
		}
	case HelpRequested:
		if who := shorten(clean(v.HelpComingFrom), maxPerson); who != "" {
			add(Title, white, 0, "Help is coming")
			add(Body, yellow, 0.8, who+" is on the way. Please stay where you are.")
			break
		}
		add(Title, white, 0, "Help is on its way")
		add(Body, yellow, 0.8, "Please stay where you are.")
	case Activation:
		code := shorten(clean(v.ActivationCode), 12)
		if code == "" {
			add(Title, white, 0, "Setting up")
			msg := "Please wait. The booth is asking the switchboard for a code."
			if p := clean(v.Problem); p != "" {
				msg = p // still finding the switchboard, or why it cannot
			}
			add(Body, yellow, 0.8, msg)
			break
		}
		add(Body, white, 0, "To set up this booth, IT approves the code")
		add(Clock, yellow, 0.6, code)
		if fp := strings.TrimPrefix(clean(v.Fingerprint), "SHA256:"); fp != "" {
			add(Body, white, 0.6, "Switchboard key "+shorten(fp, 8))
		}
	}
	r.place(&l, blocks)
	if v.Kind == InCall {
		r.callOverlay(&l, v)
	}
	return l
}

// place wraps the blocks and centres them on the screen, shrinking the text (down to
// minScale) if they do not fit.
func (r *Renderer) place(l *Layout, blocks []block) {
	if len(blocks) == 0 {
		return
	}
	H, W := r.size.Y, r.size.X
	margin := W / 16
	var total int
	var scale float64
	for pct := 100; ; pct -= 5 {
		scale = float64(pct) / 100
		total = 0
		for i := range blocks {
			b := &blocks[i]
			f := r.face(b.role, scale)
			width := W - 2*margin
			if b.dot.A != 0 {
				width -= r.dotSize(b.role, scale) * 3 / 2
			}
			b.lines = clip(f, wrap(f, b.text, width), maxLines[b.role], width)
			b.height = len(b.lines) * r.lineHeight(b.role, scale)
			total += b.height + int(b.gap*float64(r.lineHeight(Body, scale)))
		}
		if total <= H-2*margin || scale <= minScale {
			break
		}
	}
	// Still too tall for the screen at the smallest size: take lines off the longest
	// block (ending it with an ellipsis) until it fits, so nothing is drawn off the screen.
	for total > H-2*r.pad {
		longest := -1
		for i, b := range blocks {
			if len(b.lines) > 1 && (longest < 0 || len(b.lines) > len(blocks[longest].lines)) {
				longest = i
			}
		}
		if longest < 0 {
			break
		}
		b := &blocks[longest]
		lh := r.lineHeight(b.role, scale)
		b.lines = clip(r.face(b.role, scale), b.lines, len(b.lines)-1, W-2*margin)
		b.height -= lh
		total -= lh
	}
	y := (H - total) / 2
	for _, b := range blocks {
		y += int(b.gap * float64(r.lineHeight(Body, scale)))
		f := r.face(b.role, scale)
		width := 0
		for _, line := range b.lines {
			width = max(width, font.MeasureString(f, line).Ceil())
		}
		if b.dot.A != 0 {
			width += r.dotSize(b.role, scale) * 3 / 2
		}
		x := (W - width) / 2
		l.Items = append(l.Items, Item{Role: b.role, Text: strings.ReplaceAll(b.text, nbsp, " "), Lines: b.lines, FG: b.fg, BG: l.Background,
			Rect: image.Rect(x, y, x+width, y+b.height), Dot: b.dot, UnderVideo: b.under, scale: scale})
		y += b.height
	}
}

// callOverlay adds the self-view and the microphone's state, drawn over the video in
// opaque boxes so their contrast does not depend on the picture.
func (r *Renderer) callOverlay(l *Layout, v View) {
	W, H := r.size.X, r.size.Y
	pad := r.pad
	// Self-view: a fifth of the width, 16:9, bottom right.
	sw := W / 5
	sh := sw * 9 / 16
	l.Self = image.Rect(W-pad-sw, H-pad-sh, W-pad, H-pad)

	f := r.face(Body, 1)
	lh := r.lineHeight(Body, 1)
	top := pad
	if v.VideoPaused {
		// Top centre, on the frozen picture: the picture is not the booth's fault, and the
		// call goes on.
		for _, text := range []string{"The picture has paused", "You can still talk"} {
			tw := font.MeasureString(f, text).Ceil()
			bw, bh := min(tw+2*pad, W-2*pad), lh+pad
			x := (W - bw) / 2
			l.Items = append(l.Items, Item{Role: Body, Text: text, Lines: []string{text}, FG: white, BG: navy,
				Box: true, Rect: image.Rect(x, top, x+bw, top+bh), scale: 1})
			top += bh
		}
		top += pad / 2
	}
	if v.Muted {
		// Top centre, yellow: the one thing to notice in a call.
		text := "Your microphone is off"
		tw := font.MeasureString(f, text).Ceil()
		bw, bh := tw+2*pad, lh+pad
		x := (W - bw) / 2
		l.Items = append(l.Items, Item{Role: Body, Text: text, Lines: []string{text}, FG: black, BG: yellow,
			Box: true, Rect: image.Rect(x, top, x+bw, top+bh), scale: 1})
	} else {
		text := "Microphone on"
		tw := font.MeasureString(f, text).Ceil()
		bw, bh := tw+2*pad, lh+pad
		l.Items = append(l.Items, Item{Role: Body, Text: text, Lines: []string{text}, FG: white, BG: navy,
			Box: true, Rect: image.Rect(pad, H-pad-bh, pad+bw, H-pad), scale: 1})
	}
}

// nbsp joins words that must stay on one line (a phone number).
const nbsp = "\u00a0"

// wrap breaks text into lines no wider than width, as evenly as the words allow so no
// word is left alone on the last line. Words are split at plain spaces only, never at nbsp.
// A single word wider than width is cut short with an ellipsis rather than spilling off the
// screen.
func wrap(f font.Face, text string, width int) []string {
	lines := greedy(f, text, width)
	if len(lines) < 2 {
		return lines
	}
	// The narrowest width that still needs no more lines, but no narrower than the widest
	// word.
	lo := 0
	for _, w := range strings.Split(text, " ") {
		lo = max(lo, font.MeasureString(f, w).Ceil())
	}
	hi := width
	for lo < hi {
		mid := (lo + hi) / 2
		if len(greedy(f, text, mid)) <= len(lines) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if hi < width {
		lines = greedy(f, text, hi)
	}
	for i := range lines {
		lines[i] = strings.ReplaceAll(lines[i], nbsp, " ")
	}
	return lines
}

func greedy(f font.Face, text string, width int) []string {
	limit := fixed.I(width)
	var lines []string
	var cur string
	for _, w := range strings.Split(text, " ") {
		if w == "" {
			continue
		}
		try := w
		if cur != "" {
			try = cur + " " + w
		}
		if font.MeasureString(f, try) <= limit {
			cur = try
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
		}
		cur = w
		if font.MeasureString(f, cur) > limit {
			cur = truncate(f, cur, limit)
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// clip keeps at most n lines, ending the last one kept with an ellipsis if any were cut.
func clip(f font.Face, lines []string, n, width int) []string {
	if len(lines) <= n {
		return lines
	}
	lines = lines[:n]
	last := strings.TrimRight(lines[n-1], " .,") + "…"
	if font.MeasureString(f, last) > fixed.I(width) {
		last = truncate(f, last, fixed.I(width))
	}
	lines[n-1] = last
	return lines
}

// truncate cuts s to fit limit with a trailing ellipsis.
func truncate(f font.Face, s string, limit fixed.Int26_6) string {
	r := []rune(s)
	for n := len(r) - 1; n > 0; n-- {
		t := string(r[:n]) + "…"
		if font.MeasureString(f, t) <= limit {
			return t
		}
	}
	return "…"
}

// clean turns control and formatting characters (new lines, bidirectional overrides, zero
// widths) in text from elsewhere into spaces, and collapses runs of spaces.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// keepTogether joins a phone number's parts so it is not broken across lines, unless it
// is too long to fit on one.
func keepTogether(phone string) string {
	if len([]rune(phone)) > 20 {
		return phone
	}
	return strings.ReplaceAll(phone, " ", nbsp)
}

// maxName is the most characters of a clinic's name shown, so a very long one cannot push
// the time or what to do off the screen.
const maxName = 48

// maxPerson is the most characters of a patient's name shown in the waiting room.
const maxPerson = 24

// shorten cuts s to at most n characters at a word boundary, with an ellipsis.
func shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndex(cut, " "); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:-") + "…"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
