package fbdev

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
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
