package screen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"
)

// rgb565 is the Raspberry Pi framebuffer's 16-bit layout, built the way a panel builds
// its own.
func rgb565(t testing.TB) *PixelLayout {
	t.Helper()
	l, err := NewPixelLayout(2, func(r, g, b uint8) uint32 { return uint32(r)>>3<<11 | uint32(g)>>2<<5 | uint32(b)>>3 })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testPicture is a w x h picture in ratio with every sample different from its
// neighbours, cut from a larger one at (x0, y0) so its origin can be odd.
func testPicture(w, h, x0, y0 int, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	full := image.NewYCbCr(image.Rect(0, 0, x0+w, y0+h), ratio)
	for i := range full.Y {
		full.Y[i] = uint8(i*7 + i/13)
	}
	for i := range full.Cb {
		full.Cb[i], full.Cr[i] = uint8(i*13), uint8(255-i*5)
	}
	return full.SubImage(image.Rect(x0, y0, x0+w, y0+h)).(*image.YCbCr)
}

// TestScalePathsAgree draws pictures 1:1, scaled up and scaled down, mirrored or not, at
// odd sizes and origins, in 4:4:4, 4:2:2, 4:2:0, 4:4:0 and 4:1:1, into 4- and 2-byte
// layouts, with the fast paths and with the general path alone, and wants the same
// pixels from both, and from image/color for the RGBA layout.
func TestScalePathsAgree(t *testing.T) {
	layouts := []struct {
		name   string
		layout *PixelLayout
	}{{"RGBA", rgbaLayout()}, {"RGB565", rgb565(t)}}
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411}
	for _, tc := range []struct {
		name     string
		src      image.Point // picture size
		origin   image.Point // where it is cut from a larger picture
		dst      image.Rectangle
		mirror   bool
		wantMode scaleMode // for 4:4:4, 4:2:2 and 4:2:0
	}{
		{"1:1", image.Pt(64, 40), image.Pt(0, 0), image.Rect(0, 0, 64, 40), false, scaleDirect},
		{"1:1 odd size and origin", image.Pt(37, 23), image.Pt(3, 5), image.Rect(5, 3, 42, 26), false, scaleDirect},
		{"1:1 odd size, even origin", image.Pt(37, 23), image.Pt(2, 1), image.Rect(1, 2, 38, 25), false, scaleDirect},
		{"1:1 mirrored", image.Pt(37, 23), image.Pt(3, 5), image.Rect(0, 0, 37, 23), true, scaleSpread},
		{"up 1.5", image.Pt(40, 30), image.Pt(0, 0), image.Rect(4, 0, 64, 45), false, scaleSpread},
		{"up odd", image.Pt(23, 17), image.Pt(1, 3), image.Rect(3, 1, 64, 45), false, scaleSpread},
		{"up odd mirrored", image.Pt(23, 17), image.Pt(1, 3), image.Rect(3, 1, 64, 45), true, scaleSpread},
		{"down", image.Pt(61, 41), image.Pt(1, 1), image.Rect(2, 2, 34, 20), false, scaleGeneral},
		{"down mirrored", image.Pt(61, 41), image.Pt(1, 1), image.Rect(2, 2, 34, 20), true, scaleGeneral},
		// draw fits the picture into the part of the rectangle inside the frame.
		{"cut by the frame", image.Pt(40, 30), image.Pt(1, 0), image.Rect(30, 20, 70, 50), false, scaleGeneral},
	} {
		for _, ratio := range ratios {
			for _, lt := range layouts {
				t.Run(fmt.Sprintf("%s/%v/%s", tc.name, ratio, lt.name), func(t *testing.T) {
					src := testPicture(tc.src.X, tc.src.Y, tc.origin.X, tc.origin.Y, ratio)
					frame := image.Rect(0, 0, 64, 45)
					fast, general := newFrame(frame, lt.layout), newFrame(frame, lt.layout)
					for i := range fast.Pix {
						fast.Pix[i], general.Pix[i] = 0xee, 0xee
					}
					var s, g scaler
					g.onlyGeneral = true
					// Twice, so the second frame runs on the tables the first made.
					for range 2 {
						s.draw(fast, tc.dst, src, tc.mirror)
						g.draw(general, tc.dst, src, tc.mirror)
					}
					if j := hsub(ratio); (j == 1 || j == 2) && s.mode != tc.wantMode {
						t.Errorf("took path %d, want %d", s.mode, tc.wantMode)
					}
					if i := firstDiff(fast.Pix, general.Pix); i >= 0 {
						x, y := i%fast.Stride/lt.layout.bytes, i/fast.Stride
						t.Fatalf("pixel (%d,%d): fast path byte %#x, general path %#x", x, y, fast.Pix[i], general.Pix[i])
					}
					if lt.layout.bytes == 4 {
						checkAgainstStdlib(t, fast, tc.dst, src, tc.mirror)
					}
				})
			}
		}
	}
}

// checkAgainstStdlib wants each pixel of dst inside rect to be image/color's conversion
// of the source pixel under its centre, and each pixel outside untouched (0xee).
func checkAgainstStdlib(t *testing.T, f *Frame, rect image.Rectangle, src *image.YCbCr, mirror bool) {
	t.Helper()
	clip := rect.Intersect(f.Rect)
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	for y := f.Rect.Min.Y; y < f.Rect.Max.Y; y++ {
		for x := f.Rect.Min.X; x < f.Rect.Max.X; x++ {
			o := f.offset(x, y)
			got := color.RGBA{f.Pix[o], f.Pix[o+1], f.Pix[o+2], f.Pix[o+3]}
			want := color.RGBA{0xee, 0xee, 0xee, 0xee}
			if image.Pt(x, y).In(clip) {
				dx, dy := x-clip.Min.X, y-clip.Min.Y
				sx := ((2*dx + 1) * sw) / (2 * clip.Dx())
				if mirror {
					sx = sw - 1 - sx
				}
				sy := ((2*dy + 1) * sh) / (2 * clip.Dy())
				want = color.RGBAModel.Convert(src.At(src.Rect.Min.X+sx, src.Rect.Min.Y+sy)).(color.RGBA)
			}
			if got != want {
				t.Fatalf("(%d,%d): got %v, want %v", x, y, got, want)
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestNewPixelLayout: the layouts panels have are accepted and give Pack's pixels; the
// ones the renderer cannot draw are refused with a reason.
func TestNewPixelLayout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes int
		pixel func(r, g, b uint8) uint32
		white uint32 // the pixel for white; ignored if err is set
		err   string
	}{
		{"RGB565", 2, func(r, g, b uint8) uint32 { return uint32(r)>>3<<11 | uint32(g)>>2<<5 | uint32(b)>>3 }, 0xffff, ""},
		{"XRGB8888", 4, func(r, g, b uint8) uint32 { return uint32(r)<<16 | uint32(g)<<8 | uint32(b) | 0xff000000 }, 0xffffffff, ""},
		{"XRGB2101010", 4, func(r, g, b uint8) uint32 {
			ten := func(c uint8) uint32 { return uint32(c)<<2 | uint32(c)>>6 }
			return ten(r)<<20 | ten(g)<<10 | ten(b)
		}, 0x3fffffff, ""},
		{"24 bpp", 3, func(r, g, b uint8) uint32 { return uint32(r)<<16 | uint32(g)<<8 | uint32(b) }, 0, "3 bytes"},
		{"too wide", 2, func(r, g, b uint8) uint32 { return uint32(r)<<16 | uint32(g)<<8 | uint32(b) }, 0, "too wide"},
		{"channels mixed", 4, func(r, g, b uint8) uint32 { return uint32(r) * uint32(g) }, 0, "not the OR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewPixelLayout(tc.bytes, tc.pixel)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.colour(white); got != tc.white {
				t.Errorf("white: got %#x, want %#x", got, tc.white)
			}
			if got, want := l.colour(color.RGBA{0x12, 0x34, 0x56, 0xff}), tc.pixel(0x12, 0x34, 0x56); got != want {
				t.Errorf("#123456: got %#x, want %#x", got, want)
			}
		})
	}
}

// TestRenderFrameMatchesRender: a renderer drawing RGB565 frames shows, frame after frame,
// what Render's RGBA frames converted to RGB565 show; and all that changed from one frame
// to the next is inside the rectangle it reports.
func TestRenderFrameMatchesRender(t *testing.T) {
	size := image.Pt(1280, 720)
	r, err := NewRenderer(size)
	if err != nil {
		t.Fatal(err)
	}
	want, err := NewRenderer(size)
	if err != nil {
		t.Fatal(err)
	}
	l := rgb565(t)
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	v := View{Kind: InCall, Now: now}
	muted := v
	muted.Muted = true
	vga, wide, self := colourBars(640, 480), testPicture(1280, 720, 0, 0, image.YCbCrSubsampleRatio420), halves(320, 180, bars[5], bars[6])
	var prev []byte
	for _, step := range []struct {
		name         string
		v            View
		remote, self *image.YCbCr
	}{
		{"idle", View{Now: now}, nil, nil},
		{"idle again", View{Now: now}, nil, nil},
		{"waiting for the picture", v, nil, self},
		{"4:3 with self-view", v, vga, self},
		{"16:9 with self-view", v, wide, self},
		{"16:9 again", v, wide, self},
		{"muted", muted, wide, self},
		{"self-view gone", muted, vga, nil},
		{"self-view back", muted, vga, self}, // beside the 4:3 picture, not on it
		{"picture gone", v, nil, nil},
		{"idle after", View{Now: now}, nil, nil},
	} {
		f, dirty := r.RenderFrame(step.v, step.remote, step.self, l)
		img, changed := want.Render(step.v, step.remote, step.self)
		if changed != !dirty.Empty() {
			t.Errorf("%s: RenderFrame's changed rectangle %v, but Render says changed %v", step.name, dirty, changed)
		}
		for y := range size.Y {
			for x := range size.X {
				c := img.RGBAAt(x, y)
				o := f.offset(x, y)
				got, want := binary.LittleEndian.Uint16(f.Pix[o:]), uint16(l.colour(c))
				if got != want {
					t.Fatalf("%s: (%d,%d): got %#04x, want %#04x (%v)", step.name, x, y, got, want, c)
				}
				if prev != nil && !image.Pt(x, y).In(dirty) && !bytes.Equal(f.Pix[o:o+2], prev[o:o+2]) {
					t.Fatalf("%s: (%d,%d) changed but is outside the changed rectangle %v", step.name, x, y, dirty)
				}
			}
		}
		prev = append(prev[:0], f.Pix...)
	}
}

// TestChannelTablesMatchStdlib converts every Y, Cb and Cr with the tables and wants
// image/color's YCbCrToRGB, exactly.
func TestChannelTablesMatchStdlib(t *testing.T) {
	tab := &rgbaLayout().tab
	for cb := range 256 {
		for cr := range 256 {
			r, g, b := tab.chroma(uint8(cb), uint8(cr))
			for y := range 256 {
				got := tab.pixel(uint8(y), r, g, b)
				wr, wg, wb := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if want := uint32(wr) | uint32(wg)<<8 | uint32(wb)<<16 | 0xff000000; got != want {
					t.Fatalf("Y %d Cb %d Cr %d: got %#08x, want %#08x", y, cb, cr, got, want)
				}
			}
		}
	}
}
