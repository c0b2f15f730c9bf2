package screen

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/London on machines without zoneinfo
)

var update = flag.Bool("update", false, "rewrite the golden PNGs in testdata")

// bars are the remote test pattern's colours, as full-range YCbCr (BT.601, JFIF).
var bars = []color.YCbCr{
	{235, 128, 128}, // white
	{210, 16, 146},  // yellow
	{170, 166, 16},  // cyan
	{145, 54, 34},   // green
	{106, 202, 222}, // magenta
	{81, 90, 240},   // red
	{41, 240, 110},  // blue
	{16, 128, 128},  // black
}

// colourBars is a w x h 4:2:0 frame of vertical colour bars.
func colourBars(w, h int) *image.YCbCr {
	f := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			c := bars[x*len(bars)/w]
			f.Y[f.YOffset(x, y)] = c.Y
			f.Cb[f.COffset(x, y)] = c.Cb
			f.Cr[f.COffset(x, y)] = c.Cr
		}
	}
	return f
}

// halves is a w x h 4:2:0 frame whose left half is left and right half is right.
func halves(w, h int, left, right color.YCbCr) *image.YCbCr {
	f := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			c := left
			if x >= w/2 {
				c = right
			}
			f.Y[f.YOffset(x, y)] = c.Y
			f.Cb[f.COffset(x, y)] = c.Cb
			f.Cr[f.COffset(x, y)] = c.Cr
		}
	}
	return f
}

func london(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// screenCase is one screen as a reviewer sees it, with what it must say.
type screenCase struct {
	name         string
	view         View
	remote, self *image.YCbCr
	want         []string // substrings of Layout.Text
}

func screenCases(t *testing.T) []screenCase {
	loc := london(t)
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, loc)
	appt := time.Date(2026, 11, 23, 10, 30, 0, 0, loc)
	base := View{Now: now, Location: loc, ClinicName: "Riverside Surgery", ClinicPhone: "01632 960 123", Appointment: appt}
	with := func(f func(*View)) View { v := base; f(&v); return v }
	return []screenCase{
		{name: "idle", view: base,
			want: []string{"10:05am", "Monday 23 November", "Your next appointment", "Today at 10:30am", "with Riverside Surgery"}},
		{name: "idle-none", view: with(func(v *View) { v.Appointment = time.Time{} }),
			want: []string{"10:05am", "No appointments booked"}},
		{name: "idle-too-early", view: with(func(v *View) { v.TooEarly = true; v.JoinOpens = appt.Add(-10 * time.Minute) }),
			want: []string{"It is too early to join", "You can join from 10:20am", "Your appointment with Riverside Surgery is at 10:30am"}},
		{name: "join-button", view: with(func(v *View) { v.Kind = JoinWindow }),
			want: []string{"Your appointment with Riverside Surgery is at 10:30am", "Press the green button to join"}},
		{name: "join-auto-after-start", view: with(func(v *View) { v.Kind = JoinWindow; v.AutoJoin = true; v.Now = appt.Add(2 * time.Minute) }),
			want: []string{"Your appointment with Riverside Surgery started at 10:30am", "Press the green button to join"}},
		{name: "join-long-name", view: with(func(v *View) {
			v.Kind = JoinWindow
			v.ClinicName = "The Very Long Named Community Health and Wellbeing Centre of Little Snoring, Norfolk, at the Old Station Building, Platform Two, Station Road"
		}), want: []string{"Your appointment with The Very Long Named Community Health and… is at 10:30am", "Press the green button to join"}},
		{name: "join-auto", view: with(func(v *View) { v.Kind = JoinWindow; v.AutoJoin = true }),
			want: []string{"Your appointment with Riverside Surgery is at 10:30am", "Joining automatically at 10:30am", "You do not need to press anything"}},
		{name: "waiting", view: with(func(v *View) { v.Kind = Waiting; v.WaitingSince = now.Add(-3*time.Minute - 20*time.Second) }),
			want: []string{"The clinician will be with you soon", "You have waited 3 minutes"}},
		{name: "in-call", view: with(func(v *View) { v.Kind = InCall }),
			remote: colourBars(1280, 720), self: halves(640, 360, bars[5], bars[6]),
			want: []string{"Microphone on"}},
		{name: "in-call-muted", view: with(func(v *View) { v.Kind = InCall; v.Muted = true }),
			remote: colourBars(640, 480), self: halves(640, 360, bars[5], bars[6]),
			want: []string{"Your microphone is off"}},
		{name: "in-call-paused", view: with(func(v *View) { v.Kind = InCall; v.VideoPaused = true; v.Muted = true }),
			remote: colourBars(640, 480), self: halves(640, 360, bars[5], bars[6]),
			want: []string{"The picture has paused", "You can still talk", "Your microphone is off"}},
		{name: "activation-looking", view: with(func(v *View) {
			v.Kind, v.Problem = Activation, "Please wait. The booth is looking for the switchboard on this network."
		}), want: []string{"Setting up", "Please wait. The booth is looking for the switchboard on this network."}},
		{name: "in-call-no-picture", view: with(func(v *View) { v.Kind = InCall }),
			want: []string{"Waiting for the clinician's picture", "Microphone on"}},
		{name: "reconnecting", view: with(func(v *View) { v.Kind = Reconnecting }),
			want: []string{"Reconnecting", "Please wait. The booth is trying to connect again."}},
		{name: "fault", view: with(func(v *View) { v.Kind = Fault; v.Problem = ProblemCamera }),
			want: []string{"Sorry, something is wrong", "The camera is not working.", "Please tell a member of staff, or call 01632 960 123"}},
		{name: "waiting-room", view: with(func(v *View) {
			v.Kind = WaitingRoom
			v.Queue = []Waiter{{Name: "Mrs Ada Patel", Since: now.Add(-12 * time.Minute), InCall: true},
				{Name: "Mr Tom Jones", Since: now.Add(-7 * time.Minute)}, {Name: "Ms Li Wei", Since: now.Add(-30 * time.Second)}}
		}), want: []string{"2 patients waiting", "Mr Tom Jones, waited 7 minutes", "Ms Li Wei, just arrived",
			"Press the green button to see Mr Tom Jones"}},
		{name: "waiting-room-empty", view: with(func(v *View) { v.Kind = WaitingRoom }),
			want: []string{"Nobody is waiting", "10:05am"}},
		{name: "activation", view: with(func(v *View) {
			v.Kind, v.ActivationCode, v.Fingerprint = Activation, "K7QM-4TZP", "SHA256:q0Xb9sF3kLmN2pR7tV1wYz4cE6gH8jKdAaBbCcDdEeF"
		}), want: []string{"To set up this booth, IT approves the code", "K7QM-4TZP", "Switchboard key q0Xb9sF3"}},
		{name: "activation-asking", view: with(func(v *View) { v.Kind = Activation }),
			want: []string{"Setting up", "Please wait. The booth is asking the switchboard for a code."}},
		{name: "revoked", view: with(func(v *View) { v.Kind = Revoked }),
			want: []string{"Switched off", "This device has been switched off by IT.", "Please tell a member of staff."}},
		{name: "help", view: with(func(v *View) { v.Kind = HelpRequested }),
			want: []string{"Help is on its way", "Please stay where you are."}},
		{name: "help-coming", view: with(func(v *View) { v.Kind, v.HelpComingFrom = HelpRequested, "Sam Porter" }),
			want: []string{"Help is coming", "Sam Porter is on the way. Please stay where you are."}},
	}
}

// TestGolden compares each screen at 1280x720 with testdata/<name>.png; run with -update
// to rewrite them after a deliberate change, and look at them.
func TestGolden(t *testing.T) {
	r, err := NewRenderer(image.Pt(1280, 720))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range screenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			img, _ := r.Render(c.view, c.remote, c.self)
			path := filepath.Join("testdata", c.name+".png")
			if *update {
				var buf bytes.Buffer
				if err := png.Encode(&buf, img); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			defer f.Close()
			want, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(img, want); d != "" {
				t.Errorf("%s differs from the golden image: %s (if intended, run go test -update and look at it)", path, d)
			}
		})
	}
}

// diff compares two images, allowing a small difference in anti-aliased edges (glyph
// rasterising may round differently on another CPU): at most 0.2% of pixels may differ, by
// at most 48 in any channel.
func diff(got, want image.Image) string {
	if got.Bounds() != want.Bounds() {
		return fmt.Sprintf("size %v, want %v", got.Bounds(), want.Bounds())
	}
	b := got.Bounds()
	var n int
	var worst uint32
	g, ok1 := got.(*image.RGBA)
	w, ok2 := want.(*image.RGBA)
	if ok1 && ok2 && g.Stride == w.Stride && len(g.Pix) == len(w.Pix) {
		// The fast path (the race detector makes At slow): compare bytes, alpha included.
		for i := 0; i < len(g.Pix); i += 4 {
			d := max(absDiff(uint32(g.Pix[i]), uint32(w.Pix[i])), absDiff(uint32(g.Pix[i+1]), uint32(w.Pix[i+1])),
				absDiff(uint32(g.Pix[i+2]), uint32(w.Pix[i+2])), absDiff(uint32(g.Pix[i+3]), uint32(w.Pix[i+3])))
			if d > 0 {
				n++
				worst = max(worst, d)
			}
		}
	} else {
		n, worst = diffSlow(got, want)
	}
	if n*500 > b.Dx()*b.Dy() || worst > 48 {
		return fmt.Sprintf("%d pixels differ, by up to %d", n, worst)
	}
	return ""
}

func diffSlow(got, want image.Image) (n int, worst uint32) {
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			d := max(absDiff(r1, r2), absDiff(g1, g2), absDiff(b1, b2)) >> 8
			if d > 0 {
				n++
				worst = max(worst, d)
			}
		}
	}
	return n, worst
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestScreensSayWhatTheyShould checks every screen on both panel sizes: the words, that
// each block of text is really drawn, large enough, inside the screen and not overlapping
// another, and that the drawn text/background colours have a contrast ratio of at least 7:1.
func TestScreensSayWhatTheyShould(t *testing.T) {
	for _, size := range []image.Point{{1280, 720}, {1024, 600}} {
		r, err := NewRenderer(size)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range screenCases(t) {
			t.Run(fmt.Sprintf("%dx%d/%s", size.X, size.Y, c.name), func(t *testing.T) {
				l := r.Layout(c.view)
				img, _ := r.Render(c.view, c.remote, c.self)
				text := l.Text()
				for _, w := range c.want {
					if !strings.Contains(text, w) {
						t.Errorf("screen says %q, want it to contain %q", text, w)
					}
				}
				for i, it := range l.Items {
					if it.UnderVideo && c.remote != nil {
						continue
					}
					if !it.Rect.In(image.Rectangle{Max: size}) {
						t.Errorf("%q at %v is off the %v screen", it.Text, it.Rect, size)
					}
					for _, o := range l.Items[i+1:] {
						if it.Rect.Overlaps(o.Rect) && !(o.UnderVideo && c.remote != nil) {
							t.Errorf("%q at %v overlaps %q at %v", it.Text, it.Rect, o.Text, o.Rect)
						}
					}
					if it.Rect.Overlaps(l.Self) && c.self != nil {
						t.Errorf("%q at %v is under the self-view %v", it.Text, it.Rect, l.Self)
					}
					checkDrawn(t, img, it, r.CapHeight(it.Role)*it.scale)
				}
			})
		}
	}
}

// checkDrawn checks that an item's rectangle holds text in the item's colour on its
// background: enough ink, each line's ink at least capH tall, and a contrast ratio of at
// least MinContrast between the text's pixels and the background's.
func checkDrawn(t *testing.T, img *image.RGBA, it Item, capH float64) {
	t.Helper()
	rect := it.Rect
	var ink, bg int
	fg := it.BG
	// ContrastRatio per pixel is slow under the race detector; remember it per colour.
	memo := map[color.RGBA]float64{}
	contrast := func(c color.RGBA) float64 {
		cr, ok := memo[c]
		if !ok {
			cr = ContrastRatio(c, it.BG)
			memo[c] = cr
		}
		return cr
	}
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if c == it.BG {
				bg++
				continue
			}
			ink++
			if contrast(c) > contrast(fg) {
				fg = c
			}
		}
	}
	if bg < ink {
		t.Errorf("%q: only %d of %d pixels are the background %v", it.Text, bg, rect.Dx()*rect.Dy(), it.BG)
	}
	// Roughly 8% of a line of text is ink; demand a good part of that.
	if min := rect.Dx() * rect.Dy() / 40; ink < min {
		t.Errorf("%q: %d pixels of ink in %v, want at least %d", it.Text, ink, rect, min)
	}
	if fg != it.FG {
		t.Errorf("%q: darkest/lightest text pixel is %v, want the text colour %v", it.Text, fg, it.FG)
	}
	if cr := ContrastRatio(fg, it.BG); cr < MinContrast {
		t.Errorf("%q: contrast ratio of %v on %v is %.2f:1, want at least %.0f:1", it.Text, fg, it.BG, cr, MinContrast)
	}
	// Each line's ink is at least a capital letter tall.
	lh := rect.Dy() / len(it.Lines)
	if it.Box {
		lh = rect.Dy()
	}
	for i := range it.Lines {
		top, bottom := -1, -1
		for y := rect.Min.Y + i*lh; y < rect.Min.Y+(i+1)*lh && y < rect.Max.Y; y++ {
			for x := rect.Min.X; x < rect.Max.X; x++ {
				if contrast(img.RGBAAt(x, y)) > 3 {
					if top < 0 {
						top = y
					}
					bottom = y
					break
				}
			}
		}
		if h := bottom - top + 1; top < 0 || float64(h) < capH-1 {
			t.Errorf("%q line %d: ink %d px tall, want at least the cap height %.0f px", it.Text, i, h, capH)
		}
	}
}
