package synth

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices/pkg/prop"
	xdraw "golang.org/x/image/draw"

	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/media/vp8"
)

var stampValues = []uint32{0, 1, 0x80000000, 0xffffffff, 0xdeadbeef, 123456789}

// barsFrame is the source's picture (bars and the moving square) at frame n, stamped with v.
func barsFrame(t testing.TB, w, h, n int, v uint32) *image.YCbCr {
	t.Helper()
	s := newVideoSource(clockwork.NewFakeClock(), w, h, 30)
	s.frame = n
	s.pace.next = time.Time{} // the first wait returns at once
	img, _, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	out := img.(*image.YCbCr)
	if err := DrawStamp(out, v); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStampRoundTrip(t *testing.T) {
	for _, size := range []image.Point{{1280, 720}, {640, 480}, {320, 240}, {stampMinWidth, stampMinHeight}} {
		for _, v := range stampValues {
			t.Run(fmt.Sprintf("%v/%#x", size, v), func(t *testing.T) {
				img := barsFrame(t, size.X, size.Y, 3, v)
				got, err := ReadStamp(img)
				if err != nil || got != v {
					t.Fatalf("ReadStamp: got %#x, %v, want %#x", got, err, v)
				}
			})
		}
	}
}

// A sub-image (a picture that does not start at 0,0) is read relative to its own corner.
func TestStampSubImage(t *testing.T) {
	big := image.NewYCbCr(image.Rect(0, 0, 1000, 800), image.YCbCrSubsampleRatio420)
	sub := big.SubImage(image.Rect(100, 60, 740, 540)).(*image.YCbCr)
	if err := DrawStamp(sub, 42); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadStamp(sub); err != nil || got != 42 {
		t.Fatalf("ReadStamp(sub-image): got %d, %v, want 42", got, err)
	}
	if _, err := ReadStamp(big); !errors.Is(err, ErrNoStamp) {
		t.Fatalf("ReadStamp(whole picture): got %v, want ErrNoStamp", err)
	}
}

// The booth reads the stamp back from what it drew: RGBA, possibly scaled to its panel.
func TestStampSurvivesRGBAndScaling(t *testing.T) {
	src := barsFrame(t, 1280, 720, 5, 0xc0ffee)
	rgba := image.NewRGBA(src.Rect)
	stddraw.Draw(rgba, rgba.Rect, src, image.Point{}, stddraw.Src)
	tests := []struct {
		name   string
		size   image.Point
		scaler xdraw.Scaler
	}{
		{"same size", image.Pt(1280, 720), xdraw.NearestNeighbor},
		{"800x480 nearest", image.Pt(800, 480), xdraw.NearestNeighbor},
		{"800x480 bilinear", image.Pt(800, 480), xdraw.ApproxBiLinear},
		{"1920x1080 bilinear", image.Pt(1920, 1080), xdraw.BiLinear},
		{"480x272 catmull-rom", image.Pt(480, 272), xdraw.CatmullRom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := image.NewRGBA(image.Rectangle{Max: tt.size})
			tt.scaler.Scale(dst, dst.Rect, rgba, rgba.Rect, xdraw.Src, nil)
			if got, err := ReadStamp(dst); err != nil || got != 0xc0ffee {
				t.Errorf("ReadStamp(RGBA): got %#x, %v, want 0xc0ffee", got, err)
			}
			// Through At, as for a framebuffer's memory.
			if got, err := ReadStamp(grey{dst}); err != nil || got != 0xc0ffee {
				t.Errorf("ReadStamp(via At): got %#x, %v, want 0xc0ffee", got, err)
			}
		})
	}
}

// grey hides an image's type, so ReadStamp goes through At.
type grey struct{ image.Image }

// Every frame of a real VP8 call (the source's moving picture, encoded at a call's bitrate
// and decoded) reads back its own value, keyframe and interframes alike.
func TestStampSurvivesVP8(t *testing.T) {
	tests := []struct {
		w, h, bps, grain int
	}{
		{1280, 720, 2_000_000, 0},
		{1280, 720, 2_000_000, 2},
		{1280, 720, 500_000, 16},
		{640, 480, vp8.DefaultBitRate, 0},
		{640, 480, vp8.DefaultBitRate, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d@%dkbps/grain=%d", tt.w, tt.h, tt.bps/1000, tt.grain), func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			enc, err := vp8.NewEncoder(nil, prop.Media{Video: prop.Video{Width: tt.w, Height: tt.h}},
				vp8.Params{BitRate: tt.bps, Clock: clock})
			if err != nil {
				t.Fatalf("NewEncoder: %v", err)
			}
			defer enc.Close()
			dec, err := vp8.NewDecoder(vp8.DecoderConfig{})
			if err != nil {
				t.Fatalf("NewDecoder: %v", err)
			}
			defer dec.Close()
			src := newVideoSource(clock, tt.w, tt.h, 30)
			src.stamp, src.epoch, src.grain = true, clock.Now().Add(-time.Hour), tt.grain
			for n := range 60 {
				src.pace.next = time.Time{}
				img, _, err := src.Read()
				if err != nil {
					t.Fatal(err)
				}
				want := stampValue(src.epoch, clock.Now())
				frame, _, err := enc.Encode(img)
				if err != nil {
					t.Fatalf("frame %d: Encode: %v", n, err)
				}
				if len(frame) == 0 {
					t.Fatalf("frame %d: the encoder dropped it", n)
				}
				out, err := dec.Decode(frame)
				if err != nil {
					t.Fatalf("frame %d: Decode: %v", n, err)
				}
				if got, err := ReadStamp(out); err != nil || got != want {
					t.Fatalf("frame %d (%d bytes): got %d, %v, want %d", n, len(frame), got, err, want)
				}
				clock.Advance(time.Second / 30)
			}
		})
	}
}

// A misread is rejected, never taken for another value: any one, two or three wrong cells,
// a picture without a stamp, and one too small to hold it.
func TestStampRejectsCorruption(t *testing.T) {
	const v = 0x5eed1e55
	clean := barsFrame(t, 640, 480, 0, v)
	g, _ := gridFor(640, 480)
	flip := func(img *image.YCbCr, cells ...int) {
		for _, i := range cells {
			r := g.cell(i)
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					o := img.YOffset(x, y)
					img.Y[o] = stampBlack + stampWhite - img.Y[o]
				}
			}
		}
	}
	copyOf := func() *image.YCbCr {
		c := *clean
		c.Y = append([]byte(nil), clean.Y...)
		return &c
	}
	const cells = stampCols * stampRows
	var cases [][]int
	for i := range cells {
		cases = append(cases, []int{i})
		cases = append(cases, []int{i, (i + 7) % cells})
		cases = append(cases, []int{i, (i + 1) % cells, (i + 30) % cells})
	}
	for _, c := range cases {
		img := copyOf()
		flip(img, c...)
		if got, err := ReadStamp(img); !errors.Is(err, ErrNoStamp) {
			t.Errorf("cells %v flipped: got %#x, %v, want ErrNoStamp", c, got, err)
		}
	}

	unstamped := newVideoSource(clockwork.NewFakeClock(), 640, 480, 30)
	bars, _, err := unstamped.Read()
	if err != nil {
		t.Fatal(err)
	}
	black := image.NewUniform(color.Gray{0})
	white := image.NewUniform(color.Gray{255})
	small := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420)
	for name, img := range map[string]image.Image{
		"bars": bars, "black": sized{black}, "white": sized{white}, "64x48": small,
	} {
		if got, err := ReadStamp(img); !errors.Is(err, ErrNoStamp) {
			t.Errorf("%s: got %#x, %v, want ErrNoStamp", name, got, err)
		}
	}
	if err := DrawStamp(small, 1); err == nil {
		t.Errorf("DrawStamp on 64x48: got nil error, want one")
	}
}

// sized gives a uniform colour a 640x480 picture's bounds.
type sized struct{ *image.Uniform }

func (sized) Bounds() image.Rectangle { return image.Rect(0, 0, 640, 480) }

// The stamped source (Video, as Open's track reads it) stamps each frame with its capture
// time on the injected clock.
func TestStampedSourceUsesClock(t *testing.T) {
	clock := clockwork.NewFakeClock()
	epoch := clock.Now().Add(-5 * time.Second)
	s, err := Video(Config{Capture: captureSize(320, 240), Clock: clock, StampEpoch: epoch})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	read := func() uint32 {
		t.Helper()
		img, _, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		v, err := ReadStamp(img)
		if err != nil {
			t.Fatalf("ReadStamp: %v", err)
		}
		return v
	}
	if got := read(); got != 5000 {
		t.Errorf("first frame: got %d ms, want 5000", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		if err := clock.BlockUntilContext(ctx, 1); err == nil {
			clock.Advance(40 * time.Millisecond)
		}
	}()
	got := read()
	if got != 5040 {
		t.Errorf("second frame: got %d ms, want 5040", got)
	}
	if at := StampTime(epoch, got); !at.Equal(clock.Now()) {
		t.Errorf("StampTime: got %v, want %v", at, clock.Now())
	}
}

func TestOpenStamped(t *testing.T) {
	if s, err := Open(Config{Capture: captureSize(64, 48), StampEpoch: time.Now()}); err == nil {
		s.Close()
		t.Fatal("stamped 64x48: got nil error, want one")
	}
	s, err := Open(Config{Capture: captureSize(1280, 720), StampEpoch: time.Now()})
	if err != nil {
		t.Fatalf("stamped 1280x720: %v", err)
	}
	s.Close()
}

func captureSize(w, h int) capture.Config { return capture.Config{Width: w, Height: h} }

// Grain makes the encoder spend its bitrate, as a camera's noise does; the clean pattern
// costs a fraction of it.
func TestGrainFillsTheBitrate(t *testing.T) {
	const w, h, bps, frames = 640, 480, 1_000_000, 60
	sent := func(grain int) int {
		clock := clockwork.NewFakeClock()
		enc, err := vp8.NewEncoder(nil, prop.Media{Video: prop.Video{Width: w, Height: h}},
			vp8.Params{BitRate: bps, Clock: clock})
		if err != nil {
			t.Fatalf("NewEncoder: %v", err)
		}
		defer enc.Close()
		src, err := Video(Config{Capture: captureSize(w, h), Clock: clock, Grain: grain})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		n := 0
		for i := range frames {
			img, _, err := src.Read()
			if err != nil {
				t.Fatal(err)
			}
			frame, _, err := enc.Encode(img)
			if err != nil {
				t.Fatal(err)
			}
			if i >= frames/2 { // after the keyframe and rate control's start
				n += len(frame)
			}
			clock.Advance(time.Second / 30)
		}
		return n * 8 * 30 / (frames / 2)
	}
	clean, grainy := sent(0), sent(2)
	if grainy < bps*3/4 || clean > bps/2 {
		t.Errorf("got %d bit/s clean and %d bit/s with grain 2 at a %d bit/s target, want under half and over three quarters",
			clean, grainy, bps)
	}
}

func TestVideoRefusesBadGrain(t *testing.T) {
	for _, g := range []int{-1, 65} {
		if s, err := Video(Config{Grain: g}); err == nil {
			s.Close()
			t.Errorf("grain %d: got nil error, want one", g)
		}
	}
}
