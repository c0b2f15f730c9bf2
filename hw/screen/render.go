package screen

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Renderer draws Views on a panel of one size. It keeps the last frame and redraws only
// what changed: the text screens when their Layout changes, and in a call the video every
// frame with the text boxes, drawn once per change, copied over it. It draws RGBA frames
// (Render) or frames in a panel's own pixel layout (RenderFrame). It is not safe for
// concurrent use; Display owns one.
type Renderer struct {
	size  image.Point
	pad   int
	fonts [3]*opentype.Font
	// capPerPx is each role's font's cap height per pixel of font size.
	capPerPx [3]float64
	faces    map[faceKey]font.Face

	// img is where text is drawn (font.Drawer draws on an image.RGBA); in the RGBA layout
	// frame is img's pixels, in any other text is converted into frame once per change.
	img       *image.RGBA
	rgba      *PixelLayout // img's layout, for Render
	frame     *Frame       // the frame returned by RenderFrame, reused
	overlay   []*Frame     // a call's text boxes in frame's layout, each its own size, drawn when the layout changes
	last      Layout
	lastKey   layoutKey       // what last was worked out from
	lastQueue []Waiter        // and the queue (a slice cannot be in the key)
	drawn     bool            // frame holds last
	video     image.Rectangle // where the remote picture went last frame
	hadPic    bool
	hadSelf   bool
	remote    scaler
	self      scaler
}

type faceKey struct {
	role  Role
	scale int // percent
}

// NewRenderer returns a renderer for a panel of size pixels.
func NewRenderer(size image.Point) (*Renderer, error) {
	if size.X < 320 || size.Y < 200 {
		return nil, fmt.Errorf("screen: panel size %dx%d is too small (at least 320x200)", size.X, size.Y)
	}
	r := &Renderer{size: size, pad: size.Y / 40, faces: make(map[faceKey]font.Face),
		img: image.NewRGBA(image.Rectangle{Max: size}), rgba: rgbaLayout()}
	for role, ttf := range map[Role][]byte{Body: gomedium.TTF, Title: gobold.TTF, Clock: gobold.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, fmt.Errorf("screen: parse font: %w", err)
		}
		r.fonts[role] = f
		// Measure "H" at a large size rather than trusting the OS/2 table's sCapHeight.
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 1000, DPI: 72})
		if err != nil {
			return nil, fmt.Errorf("screen: font face: %w", err)
		}
		b, _ := font.BoundString(face, "H")
		r.capPerPx[role] = float64(b.Max.Y-b.Min.Y) / 64 / 1000
		face.Close()
	}
	for role := range r.fonts {
		for _, pct := range faceScales() {
			f, err := r.newFace(Role(role), pct)
			if err != nil {
				return nil, err
			}
			r.faces[faceKey{Role(role), pct}] = f
		}
	}
	return r, nil
}

// Size is the panel's size.
func (r *Renderer) Size() image.Point { return r.size }

// CapHeight is the cap height in pixels of text in role at full scale.
func (r *Renderer) CapHeight(role Role) float64 { return capHeight[role] * float64(r.size.Y) }

// face returns role's face at scale. NewRenderer built every scale Layout uses
// (faceScales), so this is a lookup; another scale is built here, and should that fail
// the role's full-size face is used: text a little large, never a crash of the booth.
func (r *Renderer) face(role Role, scale float64) font.Face {
	k := faceKey{role, int(math.Round(scale * 100))}
	if f, ok := r.faces[k]; ok {
		return f
	}
	f, err := r.newFace(role, k.scale)
	if err != nil {
		return r.faces[faceKey{role, 100}]
	}
	r.faces[k] = f
	return f
}

// faceScales are the scales, in percent, that Layout draws text at: place's steps from
// 100 down to minScale, and the call overlay's 100.
func faceScales() []int {
	var pcts []int
	for pct := 100; float64(pct)/100 >= minScale; pct -= 5 {
		pcts = append(pcts, pct)
	}
	return pcts
}

// newFace builds role's face at pct percent of its place in the type scale.
func (r *Renderer) newFace(role Role, pct int) (font.Face, error) {
	px := capHeight[role] * float64(r.size.Y) * float64(pct) / 100 / r.capPerPx[role]
	if !(px > 0) || math.IsInf(px, 0) {
		return nil, fmt.Errorf("screen: font face for role %d at %d%%: size %.1f px is not positive", role, pct, px)
	}
	f, err := opentype.NewFace(r.fonts[role], &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("screen: font face for role %d at %.1f px: %w", role, px, err)
	}
	return f, nil
}

func (r *Renderer) lineHeight(role Role, scale float64) int {
	return r.face(role, scale).Metrics().Height.Ceil()
}

func (r *Renderer) dotSize(role Role, scale float64) int {
	return int(capHeight[role] * float64(r.size.Y) * scale * 1.3)
}

// Render draws v with the latest remote and self-view frames (either may be nil) and
// returns the frame and whether it differs from the previous one. The image is reused by
// the next Render: show or copy it before calling again. Outside a call the frames are
// ignored; in a call a nil remote shows "Waiting for the clinician's picture".
func (r *Renderer) Render(v View, remote, self *image.YCbCr) (*image.RGBA, bool) {
	_, dirty := r.RenderFrame(v, remote, self, r.rgba)
	return r.img, !dirty.Empty()
}

// RenderFrame is Render drawing into a frame in layout, so a panel that stores pixels that
// way can copy it as it is; it reports the part of the frame that differs from the
// previous one (empty if none), which is all of it the first time and whenever the layout
// is not the last call's. The frame is reused by the next call: show or copy it first.
func (r *Renderer) RenderFrame(v View, remote, self *image.YCbCr, layout *PixelLayout) (*Frame, image.Rectangle) {
	if r.frame == nil || r.frame.Layout != layout {
		if layout == r.rgba {
			r.frame = &Frame{Pix: r.img.Pix, Stride: r.img.Stride, Rect: r.img.Rect, Layout: layout}
		} else {
			r.frame = newFrame(r.img.Rect, layout)
		}
		r.drawn = false
	}
	l := r.last
	if k := keyOf(v); !r.drawn || k != r.lastKey || !slices.Equal(v.Queue, r.lastQueue) {
		l = r.Layout(v)
		r.lastKey, r.lastQueue = k, slices.Clone(v.Queue)
	}
	changed := !r.drawn || !l.equal(r.last)
	r.last, r.drawn = l, true
	var dirty image.Rectangle
	if l.Kind != InCall {
		if changed {
			fill(r.img, r.img.Rect, l.Background)
			for _, it := range l.Items {
				r.drawItem(r.img, it)
			}
			dirty = r.textToFrame()
		}
		return r.frame, dirty
	}
	if changed {
		r.drawOverlay(l)
	}
	pic := remote != nil && !remote.Rect.Empty()
	haveSelf := self != nil && !self.Rect.Empty() && !l.Self.Empty()
	var video image.Rectangle
	if pic {
		video = fit(remote.Rect.Size(), r.img.Rect)
	}
	// Start from a clean screen whenever something may be left over from the last frame:
	// new words, the picture coming or going or changing shape, the self-view going.
	if changed || pic != r.hadPic || video != r.video || (r.hadSelf && !haveSelf) {
		bg := black
		if !pic {
			bg = l.Background
		}
		fill(r.img, r.img.Rect, bg)
		if !pic {
			for _, it := range l.Items {
				if it.UnderVideo {
					r.drawItem(r.img, it)
				}
			}
		}
		dirty = r.textToFrame()
	}
	r.hadPic, r.video, r.hadSelf = pic, video, haveSelf
	if pic {
		r.remote.draw(r.frame, video, remote, false)
		dirty = dirty.Union(video)
	}
	if haveSelf {
		// A thin white frame sets the self-view apart from the picture behind it.
		b := max(2, r.size.Y/240)
		r.frame.fill(l.Self.Inset(-b), white)
		r.frame.fill(l.Self, black)
		// Mirrored, as people expect to see themselves.
		r.self.draw(r.frame, fit(self.Rect.Size(), l.Self), self, true)
		dirty = dirty.Union(l.Self.Inset(-b))
	}
	// The boxes are the same as last frame, so they add nothing to dirty: where they
	// cover the picture the picture's rectangle is in it already.
	for _, o := range r.overlay {
		r.frame.copyFrom(o, o.Rect)
	}
	return r.frame, dirty.Intersect(r.frame.Rect)
}

// textToFrame puts what was drawn in img into the frame, and returns the frame's bounds:
// all of it is new.
func (r *Renderer) textToFrame() image.Rectangle {
	if r.frame.Layout != r.rgba {
		r.frame.convertFrom(r.img, r.img.Rect)
	}
	return r.frame.Rect
}

// textChanged reports whether drawing v would change the words on the screen (or nothing
// has been drawn yet).
func (r *Renderer) textChanged(v View) bool {
	if !r.drawn {
		return true
	}
	if keyOf(v) == r.lastKey && slices.Equal(v.Queue, r.lastQueue) {
		return false
	}
	// The key also changes when the minute turns, which a call's words do not show.
	return !r.Layout(v).equal(r.last)
}

// drawOverlay draws a call's boxed items, each into a frame of its own.
func (r *Renderer) drawOverlay(l Layout) {
	r.overlay = r.overlay[:0]
	for _, it := range l.Items {
		if it.Box {
			o := image.NewRGBA(it.Rect)
			r.drawItem(o, it)
			f := newFrame(it.Rect, r.frame.Layout)
			f.convertFrom(o, o.Rect)
			r.overlay = append(r.overlay, f)
		}
	}
}

// drawItem draws one block of text (its box, dot and lines).
func (r *Renderer) drawItem(dst *image.RGBA, it Item) {
	scale := it.scale
	f := r.face(it.Role, scale)
	x, y := it.Rect.Min.X, it.Rect.Min.Y
	if it.Box {
		fill(dst, it.Rect, it.BG)
		x += r.pad
		y += r.pad / 2
	}
	lh := r.lineHeight(it.Role, scale)
	ascent := f.Metrics().Ascent.Ceil()
	if it.Dot.A != 0 {
		d := r.dotSize(it.Role, scale)
		capH := int(capHeight[it.Role] * float64(r.size.Y) * scale)
		cy := y + ascent - capH/2
		fillCircle(dst, image.Pt(x+d/2, cy), d/2, it.Dot, it.BG)
		x += d * 3 / 2
	}
	dr := font.Drawer{Dst: dst, Src: image.NewUniform(it.FG), Face: f}
	width := it.Rect.Max.X - x
	if it.Box {
		width -= r.pad
	}
	for i, line := range it.Lines {
		// Each line centred in the block.
		lx := x + (width-font.MeasureString(f, line).Ceil())/2
		dr.Dot = fixed.P(lx, y+i*lh+ascent)
		dr.DrawString(line)
	}
}

// layoutKey is what a Layout depends on: the View's fields (but the queue, compared on
// its own), Now only to the minute, and the comparisons the words make with Now.
type layoutKey struct {
	kind                      Kind
	loc                       *time.Location
	clinic, phone, problem    string
	appointment, waitingSince time.Time
	joinOpens                 time.Time
	autoJoin, tooEarly, muted bool
	videoPaused               bool
	minute                    time.Time
	waited                    time.Duration
	started                   bool
	queueWaited               time.Duration // the sum of whole minutes each patient has waited
	activationCode, fp        string
	helpFrom                  string
}

func keyOf(v View) layoutKey {
	k := layoutKey{kind: v.Kind, loc: v.Location, clinic: v.ClinicName, phone: v.ClinicPhone, problem: v.Problem,
		appointment: v.Appointment, waitingSince: v.WaitingSince, joinOpens: v.JoinOpens,
		autoJoin: v.AutoJoin, tooEarly: v.TooEarly, muted: v.Muted, videoPaused: v.VideoPaused,
		minute: v.Now.Truncate(time.Minute), started: !v.Appointment.After(v.Now),
		activationCode: v.ActivationCode, fp: v.Fingerprint, helpFrom: v.HelpComingFrom}
	if !v.WaitingSince.IsZero() {
		k.waited = v.Now.Sub(v.WaitingSince).Truncate(time.Minute)
	}
	for _, w := range v.Queue {
		k.queueWaited += v.Now.Sub(w.Since).Truncate(time.Minute)
	}
	return k
}

// fit is the largest rectangle with src's aspect ratio centred in dst (letterboxed).
func fit(src image.Point, dst image.Rectangle) image.Rectangle {
	if src.X <= 0 || src.Y <= 0 {
		return image.Rectangle{}
	}
	w, h := dst.Dx(), dst.Dy()
	if w*src.Y > h*src.X { // dst is wider: bars left and right
		w = h * src.X / src.Y
	} else {
		h = w * src.Y / src.X
	}
	x := dst.Min.X + (dst.Dx()-w)/2
	y := dst.Min.Y + (dst.Dy()-h)/2
	return image.Rect(x, y, x+w, y+h)
}

// fill paints rect of dst with c: the first row pixel by pixel, then copies of it.
func fill(dst *image.RGBA, rect image.Rectangle, c color.RGBA) {
	rect = rect.Intersect(dst.Rect)
	if rect.Empty() {
		return
	}
	n := 4 * rect.Dx()
	first := dst.Pix[dst.PixOffset(rect.Min.X, rect.Min.Y):][:n]
	for i := 0; i < n; i += 4 {
		first[i], first[i+1], first[i+2], first[i+3] = c.R, c.G, c.B, c.A
	}
	for y := rect.Min.Y + 1; y < rect.Max.Y; y++ {
		o := dst.PixOffset(rect.Min.X, y)
		copy(dst.Pix[o:o+n], first)
	}
}

// fillCircle draws a filled circle with anti-aliased edges (4x4 samples a pixel) over bg.
func fillCircle(dst *image.RGBA, c image.Point, radius int, fg, bg color.RGBA) {
	r2 := float64(radius * radius)
	for y := c.Y - radius - 1; y <= c.Y+radius+1; y++ {
		for x := c.X - radius - 1; x <= c.X+radius+1; x++ {
			n := 0
			for sy := 0; sy < 4; sy++ {
				for sx := 0; sx < 4; sx++ {
					dx := float64(x-c.X) + (float64(sx)+0.5)/4 - 0.5
					dy := float64(y-c.Y) + (float64(sy)+0.5)/4 - 0.5
					if dx*dx+dy*dy <= r2 {
						n++
					}
				}
			}
			if n == 0 || !image.Pt(x, y).In(dst.Rect) {
				continue
			}
			mix := func(a, b uint8) uint8 { return uint8((int(a)*n + int(b)*(16-n) + 8) / 16) }
			dst.SetRGBA(x, y, color.RGBA{mix(fg.R, bg.R), mix(fg.G, bg.G), mix(fg.B, bg.B), 0xff})
		}
	}
}
