package screen

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Panel is where frames go: a framebuffer, the virtual screen, a test's recorder.
type Panel interface {
	// Size is the panel's size in pixels.
	Size() image.Point
	// Show puts img (the panel's size) on the panel. img is reused once Show returns.
	Show(img *image.RGBA) error
}

// A FramePanel is a Panel that can also take frames in its own pixel layout and copy them
// as they are: a framebuffer. The display then draws each frame once, from the video
// straight into the panel's layout, rather than into RGBA that the panel converts again;
// for a 1280x720 call on RGB565 that is about half the CPU.
type FramePanel interface {
	Panel
	// PixelLayout is how the panel stores pixels, or nil if the renderer cannot draw that
	// layout (24 bits a pixel); the display then uses Show.
	PixelLayout() *PixelLayout
	// ShowFrame puts the part of f inside dirty on the panel; outside dirty, f is what the
	// panel shows already. f is the panel's size, in its layout, and is reused once
	// ShowFrame returns.
	ShowFrame(f *Frame, dirty image.Rectangle) error
}

// DisplayConfig configures a Display.
type DisplayConfig struct {
	// FPS is the most frames a second the display draws. Default 60, a panel's usual
	// refresh rate: a 30 fps call is then drawn as each frame arrives. At a cap of 30 a
	// frame could be drawn only a whole 1/30 s after the last, so the network's jitter
	// made frames wait up to a frame interval and some were never shown.
	FPS int
	// Clock is the time source (the real clock if nil); it also sets View.Now.
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// Display keeps a panel showing the current View and video. SetView, SetRemoteFrame and
// SetSelfFrame may be called from any goroutine; Run draws, at most FPS times a second,
// whenever one of them brought something new, and once a second checks whether the text
// changed (the clock, the minutes waited).
type Display struct {
	panel    Panel
	frames   FramePanel   // panel, if it takes frames in its layout
	layout   *PixelLayout // and that layout
	clock    clockwork.Clock
	log      *slog.Logger
	interval time.Duration
	r        *Renderer
	wake     chan struct{}
	done     chan struct{} // closed by Close
	once     sync.Once

	mu   sync.Mutex // guards the fields below
	view View
	// Frames are copied into the pending buffers by the Set methods and swapped with the
	// drawing buffers by Run, so a decoder never waits for a draw and nothing is allocated
	// per frame once the sizes settle.
	remotePending, remoteDrawing frameBuf
	selfPending, selfDrawing     frameBuf
	remoteAt                     time.Time // when the last remote picture came
	shown                        int       // frames shown, for tests
}

// frameBuf is a reusable copy of a YCbCr frame.
type frameBuf struct {
	img   *image.YCbCr
	valid bool // holds a frame (false after the frame is cleared)
	fresh bool // not yet drawn
}

// NewDisplay returns a display for panel.
func NewDisplay(panel Panel, cfg DisplayConfig) (*Display, error) {
	if cfg.FPS == 0 {
		cfg.FPS = 60
	}
	if cfg.FPS < 1 || cfg.FPS > 120 {
		return nil, fmt.Errorf("screen: frame rate %d is out of range (1 to 120)", cfg.FPS)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := NewRenderer(panel.Size())
	if err != nil {
		return nil, err
	}
	d := &Display{panel: panel, clock: cfg.Clock, log: cfg.Logger.With("component", "screen"),
		interval: time.Second / time.Duration(cfg.FPS), r: r, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if fp, ok := panel.(FramePanel); ok {
		if l := fp.PixelLayout(); l != nil {
			d.frames, d.layout = fp, l
		}
	}
	return d, nil
}

// SetView sets what the screen shows. View.Now is ignored: the display's clock sets it.
func (d *Display) SetView(v View) {
	d.mu.Lock()
	d.view = v
	d.mu.Unlock()
	d.poke()
}

// SetRemoteFrame sets the clinician's latest picture; nil clears it. The frame is copied,
// so the caller may reuse it (as media/call's decoder does) once this returns.
func (d *Display) SetRemoteFrame(f *image.YCbCr) {
	d.mu.Lock()
	d.setFrame(&d.remotePending, f)
	if f != nil {
		d.remoteAt = d.clock.Now()
	}
	d.mu.Unlock()
	d.poke()
}

// selfAlone is how long after the clinician's last picture the self-view is drawn on its
// own again (the remote video has stopped or stalled).
const selfAlone = 200 * time.Millisecond

// SetSelfFrame sets the local camera's latest picture for the self-view; nil hides it.
// While the clinician's picture keeps arriving, a new self-view frame waits to be drawn
// with the next one: drawn on its own it would redraw the whole picture as well (the
// self-view sits on it), doubling the screen's cost for a camera and a clinician each
// at 30 fps. The self-view then lags by at most a remote frame interval.
func (d *Display) SetSelfFrame(f *image.YCbCr) {
	d.mu.Lock()
	d.setFrame(&d.selfPending, f)
	remoteLive := (d.remotePending.valid || d.remoteDrawing.valid) && d.clock.Since(d.remoteAt) < selfAlone
	d.mu.Unlock()
	if f == nil || !remoteLive {
		d.poke()
	}
}

// setFrame copies f (nil: none) into buf. Must hold d.mu.
func (d *Display) setFrame(buf *frameBuf, f *image.YCbCr) {
	if f == nil {
		buf.valid = false
	} else {
		buf.img = copyYCbCr(buf.img, f)
		buf.valid = true
	}
	buf.fresh = true
}

func (d *Display) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Frames is how many frames Run has shown.
func (d *Display) Frames() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.shown
}

// Close stops a running Run (which returns nil). It is idempotent.
func (d *Display) Close() {
	d.once.Do(func() { close(d.done) })
}

// Run draws until ctx is done or Close is called, then returns nil. A panel that fails to
// show a frame ends Run with the error.
func (d *Display) Run(ctx context.Context) error {
	tick := d.clock.NewTicker(time.Second)
	defer tick.Stop()
	var last time.Time
	first := true
	for {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case <-d.done:
				return nil
			case <-d.wake:
			case <-tick.Chan():
			}
			// At most one frame per interval: wait out the rest of it.
			if wait := d.interval - d.clock.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-d.done:
					return nil
				case <-d.clock.After(wait):
				}
			}
		}
		first = false
		// What woke us is in the snapshot below; a poke left over would only redraw it.
		select {
		case <-d.wake:
		default:
		}
		d.mu.Lock()
		v := d.view
		fresh := d.remotePending.fresh || d.selfPending.fresh
		remote := swap(&d.remotePending, &d.remoteDrawing)
		self := swap(&d.selfPending, &d.selfDrawing)
		d.mu.Unlock()

		now := d.clock.Now()
		v.Now = now
		if v.Kind == InCall && !fresh && !d.r.textChanged(v) {
			// The once-a-second check in a call: no new picture and the same words, so
			// nothing to draw (the renderer would redraw the whole picture).
			continue
		}
		last = now
		shown, err := d.draw(v, remote, self)
		if err != nil {
			return fmt.Errorf("screen: show frame: %w", err)
		}
		if shown {
			d.mu.Lock()
			d.shown++
			d.mu.Unlock()
		}
	}
}

// draw renders a frame and shows it if anything changed.
func (d *Display) draw(v View, remote, self *image.YCbCr) (bool, error) {
	if d.frames != nil {
		f, dirty := d.r.RenderFrame(v, remote, self, d.layout)
		if dirty.Empty() {
			return false, nil
		}
		return true, d.frames.ShowFrame(f, dirty)
	}
	img, changed := d.r.Render(v, remote, self)
	if !changed {
		return false, nil
	}
	return true, d.panel.Show(img)
}

// swap takes a fresh pending frame for drawing (must hold d.mu) and returns the frame to
// draw, or nil.
func swap(pending, drawing *frameBuf) *image.YCbCr {
	if pending.fresh {
		*pending, *drawing = *drawing, *pending
		drawing.fresh, pending.fresh = false, false
		pending.valid = false
	}
	if !drawing.valid {
		return nil
	}
	return drawing.img
}

// copyYCbCr copies src into dst, reusing dst's memory when the geometry matches.
func copyYCbCr(dst, src *image.YCbCr) *image.YCbCr {
	if dst == nil || dst.Rect.Size() != src.Rect.Size() || dst.SubsampleRatio != src.SubsampleRatio {
		dst = image.NewYCbCr(image.Rectangle{Max: src.Rect.Size()}, src.SubsampleRatio)
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for y := range h {
		so := src.YOffset(src.Rect.Min.X, src.Rect.Min.Y+y)
		copy(dst.Y[y*dst.YStride:y*dst.YStride+w], src.Y[so:so+w])
	}
	j, k := subsample(src.SubsampleRatio)
	cw, ch := (w+j-1)/j, (h+k-1)/k
	for y := range ch {
		so := src.COffset(src.Rect.Min.X, src.Rect.Min.Y+y*k)
		n := min(cw, len(src.Cb)-so)
		copy(dst.Cb[y*dst.CStride:y*dst.CStride+n], src.Cb[so:so+n])
		copy(dst.Cr[y*dst.CStride:y*dst.CStride+n], src.Cr[so:so+n])
	}
	return dst
}

// subsample is the horizontal and vertical chroma subsampling factors of r.
func subsample(r image.YCbCrSubsampleRatio) (int, int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}
