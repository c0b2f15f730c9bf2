package screen

import (
	"context"
	"errors"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// recorder is a Panel that hands copies of the frames it is shown to the test.
type recorder struct {
	size   image.Point
	frames chan *image.RGBA
	err    error
}

func newRecorder(size image.Point) *recorder {
	return &recorder{size: size, frames: make(chan *image.RGBA, 100)}
}

func (p *recorder) Size() image.Point { return p.size }

func (p *recorder) Show(img *image.RGBA) error {
	if p.err != nil {
		return p.err
	}
	c := *img
	c.Pix = append([]byte(nil), img.Pix...)
	p.frames <- &c
	return nil
}

// next waits for the next frame; the timeout only stops a broken test from hanging.
func (p *recorder) next(t *testing.T) *image.RGBA {
	t.Helper()
	select {
	case f := <-p.frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame shown")
		return nil
	}
}

func (p *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case <-p.frames:
		t.Fatal("a frame was shown, want none")
	default:
	}
}

func solid(w, h int, c color.YCbCr) *image.YCbCr { return halves(w, h, c, c) }

// startDisplay runs a display on a fake clock and stops it when the test ends, checking
// Run returned nil.
func startDisplay(t *testing.T, p Panel, clock *clockwork.FakeClock) *Display {
	t.Helper()
	d, err := NewDisplay(p, DisplayConfig{FPS: 25, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v, want nil after cancel", err)
		}
	})
	return d
}

func TestDisplayRedrawsWhenTheMinuteTurns(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 5, 30, 0, time.UTC))
	p := newRecorder(image.Pt(1024, 600))
	d := startDisplay(t, p, clock)
	first := p.next(t)

	// A second later nothing on the screen changes, so nothing is drawn.
	waitIdle(t, clock)
	clock.Advance(time.Second)
	waitIdle(t, clock)
	p.none(t)

	// Half a minute later the clock shows 10:06am.
	clock.Advance(29 * time.Second)
	second := p.next(t)
	if string(first.Pix) == string(second.Pix) {
		t.Error("the frame at 10:06 is the same as at 10:05")
	}
	r, _ := NewRenderer(p.size)
	want, _ := r.Render(View{Now: clock.Now()}, nil, nil)
	if diff(second, want) != "" {
		t.Error("the frame shown is not the idle screen at 10:06")
	}
	if got := d.Frames(); got != 2 {
		t.Errorf("Frames() = %d, want 2", got)
	}
}

// waitIdle waits until Run is back waiting on its ticker alone.
func waitIdle(t *testing.T, clock *clockwork.FakeClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestDisplayDrawsAtMostAtTheFrameRate(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC))
	p := newRecorder(image.Pt(1024, 600))
	d := startDisplay(t, p, clock)
	p.next(t) // idle
	red, blue := solid(64, 48, bars[5]), solid(64, 48, bars[6])
	d.SetView(View{Kind: InCall})
	d.SetRemoteFrame(red)
	// The next frame is held back until 1/25 s after the last: Run waits on the ticker
	// and that timer.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	d.SetRemoteFrame(blue)
	// The decoder reuses its frame: the display must have copied it.
	copy(blue.Y, red.Y)
	copy(blue.Cb, red.Cb)
	copy(blue.Cr, red.Cr)
	p.none(t)
	clock.Advance(40 * time.Millisecond)
	f := p.next(t)
	if got, want := f.RGBAAt(512, 300), rgb(bars[6]); got != want {
		t.Errorf("centre pixel %v, want the latest frame's blue %v", got, want)
	}
	waitIdle(t, clock)
	p.none(t)
}

func TestDisplayStops(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stop    func(*Display, context.CancelFunc)
		showErr error
		wantErr bool
	}{
		{name: "cancel", stop: func(_ *Display, cancel context.CancelFunc) { cancel() }},
		{name: "close", stop: func(d *Display, _ context.CancelFunc) { d.Close(); d.Close() }},
		{name: "panel fails", showErr: errors.New("device gone"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRecorder(image.Pt(640, 480))
			p.err = tc.showErr
			d, err := NewDisplay(p, DisplayConfig{Clock: clockwork.NewFakeClock()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error)
			go func() { done <- d.Run(ctx) }()
			if tc.stop != nil {
				p.next(t)
				tc.stop(d, cancel)
			}
			select {
			case err := <-done:
				if (err != nil) != tc.wantErr || (tc.wantErr && !errors.Is(err, tc.showErr)) {
					t.Errorf("Run: %v, want error %v", err, tc.wantErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
		})
	}
}

func TestNewDisplayRefuses(t *testing.T) {
	if _, err := NewDisplay(newRecorder(image.Pt(1024, 600)), DisplayConfig{FPS: 500}); err == nil {
		t.Error("FPS 500: no error")
	}
	if _, err := NewDisplay(newRecorder(image.Pt(100, 50)), DisplayConfig{}); err == nil {
		t.Error("a 100x50 panel: no error")
	}
}

// framebuffer is a FramePanel keeping its pixels as a framebuffer does: ShowFrame copies
// only the changed rectangle into them. A nil layout makes it a plain Panel.
type framebuffer struct {
	*recorder
	layout *PixelLayout
	mem    []byte
	dirty  chan image.Rectangle
}

func (p *framebuffer) PixelLayout() *PixelLayout { return p.layout }

func (p *framebuffer) ShowFrame(f *Frame, dirty image.Rectangle) error {
	for y := dirty.Min.Y; y < dirty.Max.Y; y++ {
		row := f.row(dirty, y)
		copy(p.mem[f.offset(dirty.Min.X, y):], row)
	}
	p.dirty <- dirty
	return nil
}

// TestDisplayDrawsInThePanelsLayout: a panel that takes frames in its own layout gets them
// (and no RGBA ones), all of the first and then the changes, and ends up showing what a
// fresh renderer draws.
func TestDisplayDrawsInThePanelsLayout(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC))
	size := image.Pt(1024, 600)
	p := &framebuffer{recorder: newRecorder(size), layout: rgb565(t), mem: make([]byte, 2*size.X*size.Y),
		dirty: make(chan image.Rectangle, 100)}
	d := startDisplay(t, p, clock)
	next := func() image.Rectangle {
		t.Helper()
		select {
		case r := <-p.dirty:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no frame shown")
			return image.Rectangle{}
		}
	}
	if got, want := next(), image.Rect(0, 0, 1024, 600); got != want {
		t.Errorf("first frame: changed %v, want all of it %v", got, want)
	}
	// Each frame after the first waits out the frame interval: Run waits on the ticker
	// and that timer.
	held := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := clock.BlockUntilContext(ctx, 2); err != nil {
			t.Fatal(err)
		}
		clock.Advance(40 * time.Millisecond)
	}
	v := View{Kind: InCall, Muted: true}
	remote := colourBars(640, 480)
	d.SetView(v)
	d.SetRemoteFrame(remote)
	held()
	if got, want := next(), image.Rect(0, 0, 1024, 600); got != want {
		t.Errorf("the call's first frame: changed %v, want all of it %v", got, want)
	}
	d.SetRemoteFrame(remote)
	held()
	if got, want := next(), fit(remote.Rect.Size(), image.Rect(0, 0, 1024, 600)); got != want {
		t.Errorf("a new picture: changed %v, want the picture's rectangle %v", got, want)
	}
	waitIdle(t, clock)
	v.Now = clock.Now()
	r, err := NewRenderer(size)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := r.RenderFrame(v, remote, nil, p.layout)
	if i := firstDiff(p.mem, want.Pix); i >= 0 {
		t.Errorf("the panel shows a different pixel at (%d,%d) than a fresh renderer draws", i%want.Stride/2, i/want.Stride)
	}
	p.none(t) // nothing came through Show
}

// TestDisplayShowsRGBAWithoutALayout: a FramePanel with no layout the renderer can draw
// gets RGBA frames.
func TestDisplayShowsRGBAWithoutALayout(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC))
	p := &framebuffer{recorder: newRecorder(image.Pt(1024, 600)), dirty: make(chan image.Rectangle, 100)}
	startDisplay(t, p, clock)
	p.next(t)
	if len(p.dirty) != 0 {
		t.Error("ShowFrame was called, want Show only")
	}
}

// TestDisplayInACallDrawsOnlyWhatIsNew: in a call, the once-a-second check draws nothing
// when no new picture came and the words are the same; a new picture, or new words, are
// drawn. It runs on the real clock for two of those checks (the fake clock's ticker cannot
// say when Run has dealt with a tick).
func TestDisplayInACallDrawsOnlyWhatIsNew(t *testing.T) {
	p := newRecorder(image.Pt(1024, 600))
	d, err := NewDisplay(p, DisplayConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	p.next(t) // idle
	d.SetView(View{Kind: InCall})
	d.SetRemoteFrame(solid(64, 48, bars[5]))
	for got := p.next(t); got.RGBAAt(512, 300) != rgb(bars[5]); got = p.next(t) {
	}
	time.Sleep(2500 * time.Millisecond)
	p.none(t)
	d.SetRemoteFrame(solid(64, 48, bars[6]))
	if got, want := p.next(t).RGBAAt(512, 300), rgb(bars[6]); got != want {
		t.Errorf("centre pixel %v, want the new frame's %v", got, want)
	}
	d.SetView(View{Kind: InCall, Muted: true})
	p.next(t) // the mute banner: new words, the same picture
}

// TestDisplaySelfViewWaitsForTheRemotePicture: while the clinician's picture keeps
// coming, a self-view frame is drawn with the next remote frame rather than on its own
// (which would redraw the whole picture); once the remote picture stalls it is drawn alone.
func TestDisplaySelfViewWaitsForTheRemotePicture(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC))
	p := newRecorder(image.Pt(1024, 600))
	d := startDisplay(t, p, clock)
	p.next(t) // idle
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// nextAfterInterval waits for Run to hold a frame back to the frame interval, lets the
	// interval pass, and returns the frame.
	nextAfterInterval := func() *image.RGBA {
		t.Helper()
		if err := clock.BlockUntilContext(ctx, 2); err != nil {
			t.Fatal(err)
		}
		clock.Advance(40 * time.Millisecond)
		return p.next(t)
	}
	v := View{Kind: InCall}
	d.SetView(v)
	d.SetRemoteFrame(solid(64, 48, bars[5]))
	nextAfterInterval()
	r, err := NewRenderer(p.size)
	if err != nil {
		t.Fatal(err)
	}
	box := r.Layout(v).Self
	centre := image.Pt((box.Min.X+box.Max.X)/2, (box.Min.Y+box.Max.Y)/2)

	d.SetSelfFrame(solid(32, 18, bars[6]))
	clock.Advance(40 * time.Millisecond) // a frame interval: a woken Run would draw now
	time.Sleep(100 * time.Millisecond)
	p.none(t)
	d.SetRemoteFrame(solid(64, 48, bars[5]))
	if got, want := p.next(t).RGBAAt(centre.X, centre.Y), rgb(bars[6]); got != want {
		t.Errorf("self-view drawn with the next remote frame: centre %v, want %v", got, want)
	}

	clock.Advance(selfAlone) // the remote picture has stalled
	d.SetSelfFrame(solid(32, 18, bars[4]))
	if got, want := p.next(t).RGBAAt(centre.X, centre.Y), rgb(bars[4]); got != want {
		t.Errorf("self-view alone after the remote stalled: centre %v, want %v", got, want)
	}
}
