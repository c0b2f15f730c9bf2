package fbdev

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/hw/screen"
)

func TestPack(t *testing.T) {
	// A 3x2 picture: red, green, blue / white, black, #123456.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	colours := []color.RGBA{{0xff, 0, 0, 0xff}, {0, 0xff, 0, 0xff}, {0, 0, 0xff, 0xff},
		{0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 0xff}, {0x12, 0x34, 0x56, 0xff}}
	for i, c := range colours {
		src.SetRGBA(i%3, i/3, c)
	}
	for _, tc := range []struct {
		name   string
		format Format
		want   []string // each pixel's bytes in memory, in hex, as the panel reads them
	}{
		{"RGB565", rgb565, []string{"00f8", "e007", "1f00", "ffff", "0000", "aa11"}},
		{"XRGB8888 (BGRA bytes)", xrgb8888, []string{"0000ffff", "00ff00ff", "ff0000ff", "ffffffff", "000000ff", "563412ff"}},
		{"ARGB8888", Format{BitsPerPixel: 32, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}, Alpha: Bitfield{24, 8}},
			[]string{"0000ffff", "00ff00ff", "ff0000ff", "ffffffff", "000000ff", "563412ff"}},
		{"RGBA bytes (XBGR8888)", Format{BitsPerPixel: 32, Red: Bitfield{0, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{16, 8}},
			[]string{"ff0000ff", "00ff00ff", "0000ffff", "ffffffff", "000000ff", "123456ff"}},
		{"RGBX with padding first (RGBX8888)", Format{BitsPerPixel: 32, Red: Bitfield{24, 8}, Green: Bitfield{16, 8}, Blue: Bitfield{8, 8}},
			[]string{"ff0000ff", "ff00ff00", "ffff0000", "ffffffff", "ff000000", "ff563412"}},
		{"BGR565", Format{BitsPerPixel: 16, Red: Bitfield{0, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{11, 5}},
			[]string{"1f00", "e007", "00f8", "ffff", "0000", "a251"}},
		{"RGB888 24 bpp", Format{BitsPerPixel: 24, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}},
			[]string{"0000ff", "00ff00", "ff0000", "ffffff", "000000", "563412"}},
		{"XRGB2101010", Format{BitsPerPixel: 32, Red: Bitfield{20, 10}, Green: Bitfield{10, 10}, Blue: Bitfield{0, 10}},
			// #123456: red 0x12 -> 0x048, green 0x34 -> 0x0d0, blue 0x56 -> 0x159: 0x04834159.
			[]string{"0000f03f", "00fc0f00", "ff030000", "ffffff3f", "00000000", "59418304"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Padded lines and panning: the picture starts at pixel (1, 2) of lines of 7
			// pixels plus 3 spare bytes.
			bpp := tc.format.BitsPerPixel / 8
			f := tc.format
			f.Width, f.Height, f.XOffset, f.YOffset, f.Stride = 3, 2, 1, 2, 7*bpp+3
			if err := f.Check(); err != nil {
				t.Fatal(err)
			}
			mem := bytes.Repeat([]byte{0xee}, f.Stride*5)
			Pack(mem, f, src)
			for i, want := range tc.want {
				x, y := 1+i%3, 2+i/3
				o := y*f.Stride + x*bpp
				if got := fmt.Sprintf("%x", mem[o:o+bpp]); got != want {
					t.Errorf("pixel (%d,%d) %v: got bytes %s, want %s", i%3, i/3, colours[i], got, want)
				}
			}
			// The pixel the renderer draws frames with (PixelLayout) is Pack's.
			for i, want := range tc.want {
				c := colours[i]
				v := f.pixel(c.R, c.G, c.B)
				got := make([]byte, bpp)
				for k := range got {
					got[k] = byte(v >> (8 * k))
				}
				if fmt.Sprintf("%x", got) != want || bpp < 4 && v>>(8*bpp) != 0 {
					t.Errorf("pixel(%v): got %#x, want bytes %s", c, v, want)
				}
			}
			// Nothing outside the picture is touched.
			for o, b := range mem {
				x, y := (o%f.Stride)/bpp, o/f.Stride
				inside := o%f.Stride < 7*bpp && x >= 1 && x < 4 && y >= 2 && y < 4
				if !inside && b != 0xee {
					t.Fatalf("byte %d (line %d) outside the picture changed to %#x", o, y, b)
				}
			}
		})
	}
}

// TestPackFrameMatchesPack: in every layout the renderer draws, showing its frames with
// PackFrame (the changed part only) leaves the framebuffer as Pack of its RGBA frames
// does, screen after screen of a call, with padded lines and panning, and touches nothing
// outside the screen.
func TestPackFrameMatchesPack(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	call := screen.View{Kind: screen.InCall, Now: now}
	muted := call
	muted.Muted = true
	vga, wide, self := picture(640, 480), picture(1280, 720), picture(320, 180)
	steps := []struct {
		v            screen.View
		remote, self *image.YCbCr
	}{
		{screen.View{Now: now}, nil, nil},
		{call, nil, self},
		{call, vga, self},
		{call, vga, self},
		{muted, wide, self},
		{muted, wide, nil},
		{muted, vga, self},
		{call, nil, nil},
	}
	for _, tc := range []struct {
		name   string
		format Format
	}{
		{"RGB565", rgb565},
		{"XRGB8888", xrgb8888},
		{"ARGB8888", Format{BitsPerPixel: 32, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}, Alpha: Bitfield{24, 8}}},
		{"XBGR8888", Format{BitsPerPixel: 32, Red: Bitfield{0, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{16, 8}}},
		{"RGBX8888", Format{BitsPerPixel: 32, Red: Bitfield{24, 8}, Green: Bitfield{16, 8}, Blue: Bitfield{8, 8}}},
		{"BGR565", Format{BitsPerPixel: 16, Red: Bitfield{0, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{11, 5}}},
		{"XRGB2101010", Format{BitsPerPixel: 32, Red: Bitfield{20, 10}, Green: Bitfield{10, 10}, Blue: Bitfield{0, 10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bpp := tc.format.BitsPerPixel / 8
			f := tc.format
			f.Width, f.Height, f.XOffset, f.YOffset, f.Stride = 640, 360, 3, 2, 645*bpp+3
			if err := f.Check(); err != nil {
				t.Fatal(err)
			}
			layout, err := f.PixelLayout()
			if err != nil {
				t.Fatal(err)
			}
			packed, copied := bytes.Repeat([]byte{0xee}, f.Stride*363), bytes.Repeat([]byte{0xee}, f.Stride*363)
			viaRGBA, direct := newRenderer(t, f), newRenderer(t, f)
			for i, s := range steps {
				if img, changed := viaRGBA.Render(s.v, s.remote, s.self); changed {
					Pack(packed, f, img)
				}
				frame, dirty := direct.RenderFrame(s.v, s.remote, s.self, layout)
				PackFrame(copied, f, frame, dirty)
				if o := firstDiff(copied, packed); o >= 0 {
					t.Fatalf("step %d: byte %d (line %d): got %#x, want %#x as Pack writes", i, o, o/f.Stride, copied[o], packed[o])
				}
			}
		})
	}
}

func newRenderer(t *testing.T, f Format) *screen.Renderer {
	t.Helper()
	r, err := screen.NewRenderer(image.Pt(f.Width, f.Height))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// picture is a w x h 4:2:0 picture with every sample different from its neighbours.
func picture(w, h int) *image.YCbCr {
	p := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range p.Y {
		p.Y[i] = uint8(i*7 + i/13)
	}
	for i := range p.Cb {
		p.Cb[i], p.Cr[i] = uint8(i*13), uint8(255-i*5)
	}
	return p
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestPackClipsToTheScreen(t *testing.T) {
	f := rgb565.WithSize(4, 2)
	mem := make([]byte, f.Size())
	big := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := range big.Pix {
		big.Pix[i] = 0xff
	}
	Pack(mem, f, big) // must not write past mem
	if !bytes.Equal(mem, bytes.Repeat([]byte{0xff}, len(mem))) {
		t.Errorf("got %x, want all white", mem)
	}
	small := image.NewRGBA(image.Rect(0, 0, 1, 1))
	Pack(mem, f, small)
	if got := fmt.Sprintf("%x", mem[:4]); got != "0000ffff" {
		t.Errorf("a 1x1 black picture: first pixels %s, want 0000ffff (the rest left alone)", got)
	}
}

func TestCheck(t *testing.T) {
	ok := xrgb8888.WithSize(1280, 720)
	for _, tc := range []struct {
		name string
		edit func(*Format)
		want string // in the error; empty for none
	}{
		{"fine", func(*Format) {}, ""},
		{"8 bpp", func(f *Format) { f.BitsPerPixel = 8 }, "8 bits per pixel"},
		{"short lines", func(f *Format) { f.Stride = 1279 * 4 }, "line length"},
		{"panned past the line", func(f *Format) { f.XOffset = 1 }, "line length"},
		{"overlap", func(f *Format) { f.Green = Bitfield{12, 8} }, "overlaps"},
		{"no blue", func(f *Format) { f.Blue = Bitfield{} }, "blue bitfield"},
		{"outside the pixel", func(f *Format) { f.Alpha = Bitfield{28, 8} }, "alpha bitfield"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ok
			tc.edit(&f)
			err := f.Check()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Check: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// BenchmarkPack is the cost of putting one 1280x720 frame on the panel.
func BenchmarkPack(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	for _, tc := range []struct {
		name string
		f    Format
	}{{"RGB565", rgb565}, {"XRGB8888", xrgb8888},
		{"BGR565-generic", Format{BitsPerPixel: 16, Red: Bitfield{0, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{11, 5}}}} {
		b.Run(tc.name, func(b *testing.B) {
			f := tc.f.WithSize(1280, 720)
			mem := make([]byte, f.Size())
			b.SetBytes(int64(len(src.Pix)))
			cpu0 := cpuTime()
			for b.Loop() {
				Pack(mem, f, src)
			}
			if cpu0 != 0 {
				ns := float64(cpuTime()-cpu0) / float64(b.N)
				b.ReportMetric(ns, "cpu-ns/frame")
				b.ReportMetric(ns*30/1e9*100, "%core@30fps")
			}
		})
	}
}
