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
