package screen

import (
	"fmt"
	"image"
	"image/color"
	"testing"
	"time"
)

// TestCallShowsTheRemotePicture feeds colour bars of several sizes and checks the centre of
// each bar on the panel shows that bar's colour, that the letterbox is black, and that the
// self-view is mirrored.
func TestCallShowsTheRemotePicture(t *testing.T) {
	r, err := NewRenderer(image.Pt(1280, 720))
	if err != nil {
		t.Fatal(err)
	}
	v := View{Kind: InCall, Now: time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)}
	self := halves(320, 180, bars[5], bars[6]) // red | blue
	for _, tc := range []struct {
		w, h  int
		video image.Rectangle // where the picture must land
	}{
		{1280, 720, image.Rect(0, 0, 1280, 720)},
		{640, 480, image.Rect(160, 0, 1120, 720)}, // 4:3: bars left and right
		{1920, 1080, image.Rect(0, 0, 1280, 720)}, // scaled down
		{1280, 540, image.Rect(0, 90, 1280, 630)}, // wider: bars top and bottom
		{322, 242, image.Rect(161, 0, 1118, 720)}, // odd chroma sizes
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
			img, changed := r.Render(v, colourBars(tc.w, tc.h), self)
			if !changed {
				t.Errorf("Render with a new frame reported no change")
			}
			l := r.Layout(v)
			for i, bar := range bars {
				x := tc.video.Min.X + (2*i+1)*tc.video.Dx()/(2*len(bars))
				y := tc.video.Min.Y + tc.video.Dy()/2
				if image.Pt(x, y).In(l.Self.Inset(-4)) {
					y = tc.video.Min.Y + tc.video.Dy()/3
				}
				want := rgb(bar)
				if got := img.RGBAAt(x, y); got != want {
					t.Errorf("bar %d at (%d,%d): got %v, want %v", i, x, y, got, want)
				}
			}
			// The letterbox, if any, is black.
			for _, p := range []image.Point{{tc.video.Min.X - 2, 360}, {640, tc.video.Min.Y - 2}} {
				if p.In(image.Rect(0, 0, 1280, 720)) && !p.In(tc.video) {
					if got := img.RGBAAt(p.X, p.Y); got != black {
						t.Errorf("letterbox at %v: got %v, want black", p, got)
					}
				}
			}
			// Mirrored: the self frame's red left half shows on the right.
			s := l.Self
			left, right := img.RGBAAt(s.Min.X+s.Dx()/4, s.Min.Y+s.Dy()/2), img.RGBAAt(s.Min.X+3*s.Dx()/4, s.Min.Y+s.Dy()/2)
			if left != rgb(bars[6]) || right != rgb(bars[5]) {
				t.Errorf("self-view left/right: got %v/%v, want blue %v / red %v (mirrored)", left, right, rgb(bars[6]), rgb(bars[5]))
			}
		})
	}
}

// rgbaFrame is a frame over img's pixels.
func rgbaFrame(img *image.RGBA) *Frame {
	return &Frame{Pix: img.Pix, Stride: img.Stride, Rect: img.Rect, Layout: rgbaLayout()}
}

func rgb(c color.YCbCr) color.RGBA {
	r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
	return color.RGBA{r, g, b, 0xff}
}

// TestScaleMatchesStdlib compares the scaler's colour conversion with image/color's for
// every subsampling ratio, 1:1, on a frame with varied values and an odd origin.
func TestScaleMatchesStdlib(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, ratio := range ratios {
		t.Run(ratio.String(), func(t *testing.T) {
			src := image.NewYCbCr(image.Rect(0, 0, 67, 45), ratio)
			for i := range src.Y {
				src.Y[i] = uint8(i * 7)
			}
			for i := range src.Cb {
				src.Cb[i], src.Cr[i] = uint8(i*13), uint8(255-i*5)
			}
			sub := src.SubImage(image.Rect(3, 5, 67, 45)).(*image.YCbCr)
			dst := image.NewRGBA(image.Rect(0, 0, 64, 40))
			var s scaler
			s.draw(rgbaFrame(dst), dst.Rect, sub, false)
			for y := range 40 {
				for x := range 64 {
					want := color.RGBAModel.Convert(sub.At(x+3, y+5)).(color.RGBA)
					if got := dst.RGBAAt(x, y); got != want {
						t.Fatalf("(%d,%d): got %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

// TestCopyYCbCr checks the display's frame copy for each ratio and a sub-image.
func TestCopyYCbCr(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		t.Run(ratio.String(), func(t *testing.T) {
			src := image.NewYCbCr(image.Rect(0, 0, 41, 29), ratio)
			for i := range src.Y {
				src.Y[i] = uint8(i * 3)
			}
			for i := range src.Cb {
				src.Cb[i], src.Cr[i] = uint8(i*11), uint8(i*17)
			}
			sub := src.SubImage(image.Rect(4, 4, 41, 29)).(*image.YCbCr)
			got := copyYCbCr(nil, sub)
			again := copyYCbCr(got, sub)
			if again != got {
				t.Errorf("copy into a frame of the same geometry allocated a new one")
			}
			for y := range 25 {
				for x := range 37 {
					if g, w := got.YCbCrAt(x, y), sub.YCbCrAt(x+4, y+4); g != w {
						t.Fatalf("(%d,%d): got %v, want %v", x, y, g, w)
					}
				}
			}
		})
	}
}

// TestRenderDrawsOnlyOnChange: the text screens are drawn once, then again only when the
// words change (the minute turns), not on every call.
func TestRenderDrawsOnlyOnChange(t *testing.T) {
	r, err := NewRenderer(image.Pt(1024, 600))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	v := View{Now: now}
	steps := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"first", now, true},
		{"same", now, false},
		{"30 s later", now.Add(30 * time.Second), false},
		{"next minute", now.Add(time.Minute), true},
	}
	for _, s := range steps {
		v.Now = s.now
		if _, changed := r.Render(v, nil, nil); changed != s.want {
			t.Errorf("%s: changed %v, want %v", s.name, changed, s.want)
		}
	}
}

// TestRenderInCallAllocatesNothing: a call frame, once the geometry is settled, costs no
// allocation.
func TestRenderInCallAllocatesNothing(t *testing.T) {
	r, err := NewRenderer(image.Pt(640, 360))
	if err != nil {
		t.Fatal(err)
	}
	v := View{Kind: InCall, Muted: true, Now: time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)}
	remote, self := colourBars(1280, 720), colourBars(640, 360)
	r.Render(v, remote, self)
	if n := testing.AllocsPerRun(3, func() { r.Render(v, remote, self) }); n != 0 {
		t.Errorf("Render in a call: %v allocations a frame, want 0", n)
	}
	l := rgb565(t)
	r.RenderFrame(v, remote, self, l)
	if n := testing.AllocsPerRun(3, func() { r.RenderFrame(v, remote, self, l) }); n != 0 {
		t.Errorf("RenderFrame in RGB565 in a call: %v allocations a frame, want 0", n)
	}
}

// TestPalette checks every text/background pair the layout uses, and the green button's
// dot against the background (WCAG 1.4.11: 3:1 for graphics).
func TestPalette(t *testing.T) {
	for _, p := range []struct {
		name   string
		fg, bg color.RGBA
		min    float64
	}{
		{"white on navy", white, navy, MinContrast},
		{"yellow on navy", yellow, navy, MinContrast},
		{"black on yellow", black, yellow, MinContrast},
		{"green dot on navy", green, navy, 3},
	} {
		if cr := ContrastRatio(p.fg, p.bg); cr < p.min {
			t.Errorf("%s: %.2f:1, want at least %.0f:1", p.name, cr, p.min)
		} else {
			t.Logf("%s: %.1f:1", p.name, cr)
		}
	}
}

func TestContrastRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b color.Color
		want float64
	}{
		{color.White, color.Black, 21},
		{color.Black, color.White, 21},
		{color.RGBA{0x77, 0x77, 0x77, 0xff}, color.White, 4.48}, // the classic just-fails-AA grey
		{color.RGBA{0x59, 0x59, 0x59, 0xff}, color.White, 7.00},
		{white, white, 1},
	} {
		if got := ContrastRatio(tc.a, tc.b); got < tc.want-0.01 || got > tc.want+0.01 {
			t.Errorf("ContrastRatio(%v, %v) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

// BenchmarkRenderCall is the screen's share of a call's CPU: scaling a 1280x720 remote
// frame (and a 320x180 self-view) into a 1280x720 panel with the mute banner on top.
func BenchmarkRenderCall(b *testing.B) {
	for _, size := range []image.Point{{1280, 720}, {640, 480}} {
		b.Run(fmt.Sprintf("remote=%dx%d", size.X, size.Y), func(b *testing.B) {
			r, err := NewRenderer(image.Pt(1280, 720))
			if err != nil {
				b.Fatal(err)
			}
			v := View{Kind: InCall, Muted: true, Now: time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)}
			remote, self := colourBars(size.X, size.Y), colourBars(320, 180)
			r.Render(v, remote, self)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r.Render(v, remote, self)
			}
			reportCPU(b, cpu0)
		})
	}
}

// reportCPU reports CPU time per operation (not wall time, which a shared machine inflates)
// and what that costs of one core at 30 frames a second.
func reportCPU(b *testing.B, cpu0 int64) {
	if cpu0 == 0 {
		return
	}
	ns := float64(cpuTime()-cpu0) / float64(b.N)
	b.ReportMetric(ns, "cpu-ns/frame")
	b.ReportMetric(ns*30/1e9*100, "%core@30fps")
}

// TestCallLeavesNothingBehind: when the self-view or the picture goes, nothing of them is
// left on the screen; each frame equals what a fresh renderer draws for the same inputs.
func TestCallLeavesNothingBehind(t *testing.T) {
	r, err := NewRenderer(image.Pt(1280, 720))
	if err != nil {
		t.Fatal(err)
	}
	v := View{Kind: InCall, Now: time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)}
	vga, wide, self := colourBars(640, 480), colourBars(1280, 720), halves(320, 180, bars[5], bars[6])
	muted := v
	muted.Muted = true
	for _, step := range []struct {
		name         string
		v            View
		remote, self *image.YCbCr
	}{
		{"4:3 with self-view", v, vga, self},
		{"self-view gone", v, vga, nil},
		{"16:9 with self-view", v, wide, self},
		{"back to 4:3", v, vga, self},
		{"muted", muted, vga, self},
		{"picture gone", muted, nil, self},
		{"both gone", v, nil, nil},
		{"picture back", v, wide, nil},
	} {
		got, _ := r.Render(step.v, step.remote, step.self)
		fresh, err := NewRenderer(image.Pt(1280, 720))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := fresh.Render(step.v, step.remote, step.self)
		if d := diff(got, want); d != "" || string(got.Pix) != string(want.Pix) {
			t.Errorf("%s: the frame differs from a fresh render (%s)", step.name, d)
		}
	}
}
