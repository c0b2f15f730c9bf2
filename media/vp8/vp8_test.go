package vp8

import (
	"errors"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// quadrants are the colours of the test frame's four quadrants, in reading order.
var quadrants = [4]color.YCbCr{
	{Y: 81, Cb: 90, Cr: 240},  // red
	{Y: 145, Cb: 54, Cr: 34},  // green
	{Y: 41, Cb: 240, Cr: 110}, // blue
	{Y: 210, Cb: 16, Cr: 146}, // yellow
}

func quadrantOf(x, y, w, h int) color.YCbCr {
	i := 0
	if x >= w/2 {
		i++
	}
	if y >= h/2 {
		i += 2
	}
	return quadrants[i]
}

// testFrame draws the quadrants with a small moving noise square (so frames differ).
func testFrame(w, h, n int, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := quadrantOf(x, y, w, h)
			img.Y[img.YOffset(x, y)] = c.Y
			ci := img.COffset(x, y)
			img.Cb[ci], img.Cr[ci] = c.Cb, c.Cr
		}
	}
	seed := uint32(n*7919 + 1)
	ox := (n * 4) % (w / 4)
	for y := 0; y < h/8; y++ {
		for x := 0; x < w/8; x++ {
			seed = seed*1664525 + 1013904223
			img.Y[img.YOffset(ox+x, h/2-h/16+y)] = byte(seed >> 24)
		}
	}
	return img
}

// noiseFrame is hard to compress, so the bitrate target shows in the frame sizes.
func noiseFrame(w, h, n int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	seed := uint32(n*104729 + 7)
	for i := range img.Y {
		seed = seed*1664525 + 1013904223
		img.Y[i] = 112 + byte(seed>>24)/8 // low-amplitude noise: lossy, but compressible
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img
}

func toRGBA(src image.Image) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dst.Set(x, y, src.At(x, y))
		}
	}
	return dst
}

func newTestEncoder(t testing.TB, w, h int, p Params) *Encoder {
	t.Helper()
	if p.Clock == nil {
		p.Clock = clockwork.NewFakeClock()
	}
	e, err := NewEncoder(nil, prop.Media{Video: prop.Video{Width: w, Height: h}}, p)
	if err != nil {
		t.Fatalf("NewEncoder: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestRoundTrip(t *testing.T) {
	const w, h = 320, 240
	tests := []struct {
		name  string
		frame func(n int) image.Image
	}{
		{"ycbcr420", func(n int) image.Image { return testFrame(w, h, n, image.YCbCrSubsampleRatio420) }},
		{"ycbcr422", func(n int) image.Image { return testFrame(w, h, n, image.YCbCrSubsampleRatio422) }},
		{"rgba", func(n int) image.Image { return toRGBA(testFrame(w, h, n, image.YCbCrSubsampleRatio420)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			e := newTestEncoder(t, w, h, Params{BitRate: 800_000, Clock: clock})
			d, err := NewDecoder(DecoderConfig{})
			if err != nil {
				t.Fatalf("NewDecoder: %v", err)
			}
			defer d.Close()
			var img *image.YCbCr
			for n := 0; n < 10; n++ {
				frame, key, err := e.Encode(tt.frame(n))
				if err != nil {
					t.Fatalf("Encode frame %d: %v", n, err)
				}
				if n == 0 && !key {
					t.Errorf("frame 0: got interframe, want keyframe")
				}
				if img, err = d.Decode(frame); err != nil {
					t.Fatalf("Decode frame %d: %v", n, err)
				}
				clock.Advance(33 * time.Millisecond)
			}
			if got := img.Rect.Size(); got != image.Pt(w, h) {
				t.Fatalf("decoded size: got %v, want %v", got, image.Pt(w, h))
			}
			// Sample each quadrant away from its edges and the noise square.
			for _, p := range []image.Point{{w / 4, h / 8}, {3 * w / 4, h / 8}, {w / 4, 7 * h / 8}, {3 * w / 4, 7 * h / 8}} {
				want := quadrantOf(p.X, p.Y, w, h)
				got := img.YCbCrAt(p.X, p.Y)
				if absDiff(got.Y, want.Y) > 12 || absDiff(got.Cb, want.Cb) > 12 || absDiff(got.Cr, want.Cr) > 12 {
					t.Errorf("pixel %v: got %v, want about %v", p, got, want)
				}
			}
		})
	}
}

func TestForceKeyFrame(t *testing.T) {
	const w, h = 320, 240
	clock := clockwork.NewFakeClock()
	e := newTestEncoder(t, w, h, Params{Clock: clock})
	for n := 0; n < 8; n++ {
		if n == 5 {
			if err := e.ForceKeyFrame(); err != nil {
				t.Fatalf("ForceKeyFrame: %v", err)
			}
		}
		frame, key, err := e.Encode(testFrame(w, h, n, image.YCbCrSubsampleRatio420))
		if err != nil {
			t.Fatalf("Encode frame %d: %v", n, err)
		}
		wantKey := n == 0 || n == 5
		if key != wantKey {
			t.Errorf("frame %d: got keyframe %v, want %v", n, key, wantKey)
		}
		if IsKeyFrame(frame) != key {
			t.Errorf("frame %d: IsKeyFrame says %v, libvpx says %v", n, IsKeyFrame(frame), key)
		}
		clock.Advance(33 * time.Millisecond)
	}
}

func TestSetBitRate(t *testing.T) {
	const w, h, fps = 320, 240, 30
	clock := clockwork.NewFakeClock()
	e := newTestEncoder(t, w, h, Params{BitRate: 1_500_000, Clock: clock})
	run := func(from int) (bytes int) {
		for n := from; n < from+60; n++ {
			frame, _, err := e.Encode(noiseFrame(w, h, n))
			if err != nil {
				t.Fatalf("Encode frame %d: %v", n, err)
			}
			if n >= from+30 { // let rate control settle
				bytes += len(frame)
			}
			clock.Advance(time.Second / fps)
		}
		return bytes
	}
	high := run(0)
	if err := e.SetBitRate(150_000); err != nil {
		t.Fatalf("SetBitRate: %v", err)
	}
	low := run(60)
	t.Logf("30 frames: %d bytes at 1.5 Mbit/s, %d bytes at 150 kbit/s", high, low)
	if low*3 > high {
		t.Errorf("bytes after lowering the bitrate 10x: got %d, want under a third of %d", low, high)
	}
	if err := e.SetBitRate(0); err == nil {
		t.Errorf("SetBitRate(0): got nil error, want one")
	}
}

func TestEncoderReader(t *testing.T) {
	const w, h = 160, 120
	n := 0
	r := video.ReaderFunc(func() (image.Image, func(), error) {
		n++
		return testFrame(w, h, n, image.YCbCrSubsampleRatio420), func() {}, nil
	})
	enc, err := Params{Clock: clockwork.NewFakeClock()}.BuildVideoEncoder(r, prop.Media{Video: prop.Video{Width: w, Height: h}})
	if err != nil {
		t.Fatalf("BuildVideoEncoder: %v", err)
	}
	frame, release, err := enc.Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	release()
	if !IsKeyFrame(frame) {
		t.Errorf("first frame: got interframe, want keyframe")
	}
	if _, ok := enc.Controller().(interface{ ForceKeyFrame() error }); !ok {
		t.Errorf("Controller: got %T, want a KeyFrameController", enc.Controller())
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := enc.Read(); err == nil {
		t.Errorf("Read after Close: got nil error, want io.EOF")
	}
}

func TestResize(t *testing.T) {
	e := newTestEncoder(t, 320, 240, Params{})
	d, _ := NewDecoder(DecoderConfig{})
	defer d.Close()
	for _, size := range []image.Point{{320, 240}, {160, 120}} {
		frame, key, err := e.Encode(testFrame(size.X, size.Y, 0, image.YCbCrSubsampleRatio420))
		if err != nil {
			t.Fatalf("Encode %v: %v", size, err)
		}
		if !key {
			t.Errorf("first frame at %v: got interframe, want keyframe", size)
		}
		img, err := d.Decode(frame)
		if err != nil {
			t.Fatalf("Decode %v: %v", size, err)
		}
		if got := img.Rect.Size(); got != size {
			t.Errorf("decoded size: got %v, want %v", got, size)
		}
	}
}

func TestDecoderErrors(t *testing.T) {
	e := newTestEncoder(t, 160, 120, Params{})
	key, _, _ := e.Encode(testFrame(160, 120, 0, image.YCbCrSubsampleRatio420))
	key = append([]byte(nil), key...)
	inter, _, _ := e.Encode(testFrame(160, 120, 1, image.YCbCrSubsampleRatio420))
	inter = append([]byte(nil), inter...)

	corrupt := append([]byte(nil), key...)
	corrupt[6], corrupt[7], corrupt[8], corrupt[9] = 0xff, 0xff, 0xff, 0xff // 16383x16383, scale 3
	corrupt = corrupt[:12]

	tests := []struct {
		name   string
		frames [][]byte
		want   []error
	}{
		{"interframe first", [][]byte{inter, key, inter}, []error{ErrNeedKeyFrame, nil, nil}},
		{"empty", [][]byte{nil}, []error{ErrEmptyFrame}},
		{"truncated keyframe", [][]byte{corrupt}, []error{errAnyCodec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder(DecoderConfig{})
			if err != nil {
				t.Fatalf("NewDecoder: %v", err)
			}
			defer d.Close()
			for i, f := range tt.frames {
				_, err := d.Decode(f)
				switch want := tt.want[i]; {
				case want == errAnyCodec:
					var ce *CodecError
					if !errors.As(err, &ce) {
						t.Errorf("frame %d: got %v, want a *CodecError", i, err)
					}
				case !errors.Is(err, want):
					t.Errorf("frame %d: got %v, want %v", i, err, want)
				}
			}
		})
	}
	d, _ := NewDecoder(DecoderConfig{})
	d.Close()
	if _, err := d.Decode(key); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: got %v, want %v", err, ErrClosed)
	}
}

var errAnyCodec = errors.New("any codec error")

func TestDefaultCPUUsed(t *testing.T) {
	tests := []struct {
		arch        string
		cores, w, h int
		want        int
	}{
		{"amd64", 2, 640, 480, -6},
		{"arm64", 4, 320, 240, -8},
		{"arm64", 4, 640, 480, -10},
		{"arm64", 4, 1280, 720, -12},
		{"arm", 2, 320, 240, -12},
	}
	for _, tt := range tests {
		if got := defaultCPUUsed(tt.arch, tt.cores, tt.w, tt.h); got != tt.want {
			t.Errorf("defaultCPUUsed(%s, %d cores, %dx%d): got %d, want %d", tt.arch, tt.cores, tt.w, tt.h, got, tt.want)
		}
	}
}
