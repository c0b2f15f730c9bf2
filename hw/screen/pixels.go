package screen

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
)

// PixelLayout is how a panel stores an opaque colour in a pixel of 2 or 4 bytes,
// little-endian: RGB565, XRGB8888, image.RGBA's own. A renderer draws a call's video
// straight into a panel's layout (see FramePanel and Renderer.RenderFrame), so a frame is
// converted once, from YCbCr, rather than into RGBA and then again into the panel's
// pixels. Build one with NewPixelLayout; layouts are compared by pointer.
type PixelLayout struct {
	bytes int
	tab   channelTables
}

// NewPixelLayout returns the layout of pixels of n bytes (2 or 4) holding pixel(r, g, b).
// pixel must be made of one part that depends only on red, one only on green and one only
// on blue, OR-ed with bits set in every pixel (alpha, padding), as every packed-pixel
// format is; NewPixelLayout checks that over the greys and a few mixed colours.
func NewPixelLayout(n int, pixel func(r, g, b uint8) uint32) (*PixelLayout, error) {
	if n != 2 && n != 4 {
		return nil, fmt.Errorf("screen: pixels of %d bytes: only 2 and 4 are supported", n)
	}
	l := &PixelLayout{bytes: n}
	base := pixel(0, 0, 0)
	l.tab.build(func(c uint8) uint32 { return pixel(c, 0, 0) }, func(c uint8) uint32 { return pixel(0, c, 0) &^ base },
		func(c uint8) uint32 { return pixel(0, 0, c) &^ base })
	for i := range 256 {
		c := uint8(i)
		for _, rgb := range [][3]uint8{{c, c, c}, {c, 255 - c, c * 7}, {c * 3, c, 255 - c}} {
			want := pixel(rgb[0], rgb[1], rgb[2])
			if n == 2 && want > 0xffff {
				return nil, fmt.Errorf("screen: pixel layout: %v is %#x, too wide for 2 bytes", rgb, want)
			}
			if got := l.colour(color.RGBA{rgb[0], rgb[1], rgb[2], 0xff}); got != want {
				return nil, fmt.Errorf("screen: pixel layout: %v is %#x, not the OR of its channels' bits (%#x)", rgb, want, got)
			}
		}
	}
	return l, nil
}

// rgbaLayout is image.RGBA's layout: red in the first byte, opaque.
func rgbaLayout() *PixelLayout {
	l := &PixelLayout{bytes: 4}
	l.tab.build(func(c uint8) uint32 { return uint32(c) | 0xff<<24 }, func(c uint8) uint32 { return uint32(c) << 8 },
		func(c uint8) uint32 { return uint32(c) << 16 })
	return l
}

// Bytes is the size of a pixel.
func (l *PixelLayout) Bytes() int { return l.bytes }

// colour is c's pixel (its alpha ignored: the screen is opaque).
func (l *PixelLayout) colour(c color.RGBA) uint32 {
	// Indexes 0 to 255 of the tables are the byte values themselves.
	return l.tab.r[c.R] | l.tab.g[c.G] | l.tab.b[c.B]
}

// Frame is a picture in a PixelLayout: pixel (x, y) is the layout's bytes at
// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)*Layout.Bytes()], as the panel stores it.
type Frame struct {
	Pix    []byte
	Stride int
	Rect   image.Rectangle
	Layout *PixelLayout
}

// newFrame returns a frame of rect in layout l.
func newFrame(rect image.Rectangle, l *PixelLayout) *Frame {
	stride := rect.Dx() * l.bytes
	return &Frame{Pix: make([]byte, stride*rect.Dy()), Stride: stride, Rect: rect, Layout: l}
}

// offset is where pixel (x, y) starts in Pix.
func (f *Frame) offset(x, y int) int {
	return (y-f.Rect.Min.Y)*f.Stride + (x-f.Rect.Min.X)*f.Layout.bytes
}

// row is the pixels of rect's row y (rect within f).
func (f *Frame) row(rect image.Rectangle, y int) []byte {
	o := f.offset(rect.Min.X, y)
	n := rect.Dx() * f.Layout.bytes
	return f.Pix[o : o+n : o+n]
}

// fill paints rect of f with c: the first row pixel by pixel, then copies of it.
func (f *Frame) fill(rect image.Rectangle, c color.RGBA) {
	rect = rect.Intersect(f.Rect)
	if rect.Empty() {
		return
	}
	v := f.Layout.colour(c)
	first := f.row(rect, rect.Min.Y)
	if f.Layout.bytes == 4 {
		for i := 0; i+4 <= len(first); i += 4 {
			binary.LittleEndian.PutUint32(first[i:], v)
		}
	} else {
		for i := 0; i+2 <= len(first); i += 2 {
			binary.LittleEndian.PutUint16(first[i:], uint16(v))
		}
	}
	for y := rect.Min.Y + 1; y < rect.Max.Y; y++ {
		copy(f.row(rect, y), first)
	}
}

// copyFrom copies rect, in both frames' coordinates, from src, which has f's layout.
func (f *Frame) copyFrom(src *Frame, rect image.Rectangle) {
	rect = rect.Intersect(f.Rect).Intersect(src.Rect)
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		copy(f.row(rect, y), src.row(rect, y))
	}
}

// convertFrom converts rect, in both images' coordinates, from src into f's layout.
func (f *Frame) convertFrom(src *image.RGBA, rect image.Rectangle) {
	rect = rect.Intersect(f.Rect).Intersect(src.Rect)
	if rect.Empty() {
		return
	}
	n := rect.Dx()
	t := &f.Layout.tab
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		o := src.PixOffset(rect.Min.X, y)
		s, d := src.Pix[o:o+4*n:o+4*n], f.row(rect, y)
		for x := range n {
			p := s[4*x : 4*x+4 : 4*x+4]
			putPixel(d, x, t.r[p[0]]|t.g[p[1]]|t.b[p[2]], f.Layout.bytes == 4)
		}
	}
}

// putPixel stores pixel i of row: 4 bytes if wide, else 2.
func putPixel(row []byte, i int, p uint32, wide bool) {
	if wide {
		binary.LittleEndian.PutUint32(row[4*i:4*i+4:4*i+4], p)
	} else {
		binary.LittleEndian.PutUint16(row[2*i:2*i+2:2*i+2], uint16(p))
	}
}

// putPair stores pixels 2i and 2i+1 of row with one store.
func putPair(row []byte, i int, p0, p1 uint32, wide bool) {
	if wide {
		binary.LittleEndian.PutUint64(row[8*i:8*i+8:8*i+8], uint64(p0)|uint64(p1)<<32)
	} else {
		binary.LittleEndian.PutUint32(row[4*i:4*i+4:4*i+4], p0|p1<<16)
	}
}

// channelTables convert YCbCr to a layout's pixels as image/color's YCbCrToRGB does
// (JFIF, BT.601 full range, 16.16 fixed point), with loads where the arithmetic would
// take more instructions: a call's video is the one thing on the screen drawn a million
// pixels at a time.
//
// The chroma tables hold each Cb's and Cr's terms (91881*Cr for red, -22554*Cb-46802*Cr
// for green, 116130*Cb for blue, each less 128 first). The channel tables turn a channel,
// luma times 0x10101 plus its chroma term, into that channel's bits in the pixel, clamped
// to 0..0xff on the way: one shift, mask and load where a clamp takes two comparisons and
// the placing a shift more. Their index is bits 16 to 25 of the sum, which the sum's range
// (-227<<16 to 481<<16) leaves unambiguous: 0 to 255 is the byte itself, 256 to 511 too
// bright, 512 and up negative.
type channelTables struct {
	r, g, b            [1024]uint32
	crR, cbG, crG, cbB [256]int32
}

// build fills the tables for a layout: red, green and blue place a channel's byte in the
// pixel; red's also carries the bits set in every pixel.
func (t *channelTables) build(red, green, blue func(c uint8) uint32) {
	for i := range 1024 {
		c := uint8(i)
		switch {
		case i >= 512:
			c = 0
		case i >= 256:
			c = 0xff
		}
		t.r[i], t.g[i], t.b[i] = red(c), green(c), blue(c)
	}
	for i := range 256 {
		d := int32(i) - 128
		t.crR[i], t.crG[i] = 91881*d, -46802*d
		t.cbB[i], t.cbG[i] = 116130*d, -22554*d
	}
}

// chroma is a chroma sample's terms in red, green and blue.
func (t *channelTables) chroma(cb, cr uint8) (r, g, b int32) {
	return t.crR[cr], t.cbG[cb] + t.crG[cr], t.cbB[cb]
}

// pixel is the pixel for luma y and chroma terms r, g and b.
func (t *channelTables) pixel(y uint8, r, g, b int32) uint32 {
	yy := int32(y) * 0x10101
	return t.r[uint32(yy+r)>>16&1023] | t.g[uint32(yy+g)>>16&1023] | t.b[uint32(yy+b)>>16&1023]
}
