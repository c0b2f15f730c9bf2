package fbdev_test

import (
	"image"
	"testing"
	"time"

	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/hw/screen/fbdev"
)

// BenchmarkCallFrame is the whole cost of one call frame on a framebuffer panel: draw the
// remote picture (and the text over it) into the 1280x720 frame, then put it in RGB565 or
// XRGB8888 framebuffer memory. The plain names are what the booth does (RenderFrame in
// the panel's layout, then PackFrame copies the changed rectangle); "RGBA+Pack" is the
// way round through an RGBA frame, for comparison. It reports CPU time (not wall time) a
// frame and the share of one core at 30 fps.
func BenchmarkCallFrame(b *testing.B) {
	for _, tc := range []struct {
		name    string
		remote  image.Point
		format  fbdev.Format
		viaRGBA bool
	}{
		{"remote=1280x720/RGB565", image.Pt(1280, 720), rgb565(), false},
		{"remote=640x480/RGB565", image.Pt(640, 480), rgb565(), false},
		{"remote=1280x720/XRGB8888", image.Pt(1280, 720), xrgb8888(), false},
		{"remote=1280x720/RGB565/RGBA+Pack", image.Pt(1280, 720), rgb565(), true},
		{"remote=640x480/RGB565/RGBA+Pack", image.Pt(640, 480), rgb565(), true},
		{"remote=1280x720/XRGB8888/RGBA+Pack", image.Pt(1280, 720), xrgb8888(), true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := screen.NewRenderer(image.Pt(1280, 720))
			if err != nil {
				b.Fatal(err)
			}
			f := tc.format.WithSize(1280, 720)
			layout, err := f.PixelLayout()
			if err != nil {
				b.Fatal(err)
			}
			mem := make([]byte, f.Size())
			remote := image.NewYCbCr(image.Rectangle{Max: tc.remote}, image.YCbCrSubsampleRatio420)
			for i := range remote.Y {
				remote.Y[i] = uint8(i)
			}
			v := screen.View{Kind: screen.InCall, Muted: true, Now: time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)}
			frame := func() {
				if tc.viaRGBA {
					img, _ := r.Render(v, remote, nil)
					fbdev.Pack(mem, f, img)
					return
				}
				fr, dirty := r.RenderFrame(v, remote, nil, layout)
				fbdev.PackFrame(mem, f, fr, dirty)
			}
			frame()
			cpu0 := cpuTimeExt()
			for b.Loop() {
				frame()
			}
			if cpu0 != 0 {
				ns := float64(cpuTimeExt()-cpu0) / float64(b.N)
				b.ReportMetric(ns, "cpu-ns/frame")
				b.ReportMetric(ns*30/1e9*100, "%core@30fps")
			}
		})
	}
}

func rgb565() fbdev.Format {
	return fbdev.Format{BitsPerPixel: 16, Red: fbdev.Bitfield{Offset: 11, Length: 5}, Green: fbdev.Bitfield{Offset: 5, Length: 6}, Blue: fbdev.Bitfield{Length: 5}}
}

func xrgb8888() fbdev.Format {
	return fbdev.Format{BitsPerPixel: 32, Red: fbdev.Bitfield{Offset: 16, Length: 8}, Green: fbdev.Bitfield{Offset: 8, Length: 8}, Blue: fbdev.Bitfield{Length: 8}}
}
