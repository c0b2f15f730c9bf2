package fbdev

import (
	"encoding/binary"
	"fmt"
	"image"

	"github.com/carebooth/carebooth/hw/screen"
)

// Bitfield is where one colour channel sits in a pixel (struct fb_bitfield).
type Bitfield struct {
	Offset uint32 // bit position of the channel's least significant bit
	Length uint32 // bits; 0 when the pixel has no such channel (no alpha)
}

// Format is a framebuffer's visible geometry and pixel layout.
type Format struct {
	Width, Height int // visible pixels (xres, yres)
	BitsPerPixel  int
	// Stride is the bytes from one line to the next (line_length); at least
	// Width*BitsPerPixel/8.
	Stride int
	// XOffset and YOffset are the visible area's position in the virtual screen (panning).
	XOffset, YOffset        int
	Red, Green, Blue, Alpha Bitfield
}

// The formats a Raspberry Pi presents, read-only.
var (
	// rgb565 is 16 bpp, red in the top 5 bits.
	rgb565 = Format{BitsPerPixel: 16, Red: Bitfield{11, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{0, 5}}
	// xrgb8888 is 32 bpp with blue in the first byte in memory (DRM's XRGB8888, "BGRA" in
	// byte order).
	xrgb8888 = Format{BitsPerPixel: 32, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}}
)

// WithSize returns f for a width x height screen with no padding or panning.
func (f Format) WithSize(width, height int) Format {
	f.Width, f.Height = width, height
	f.Stride = width * f.BitsPerPixel / 8
	f.XOffset, f.YOffset = 0, 0
	return f
}

func (f Format) String() string {
	return fmt.Sprintf("%dx%d %d bpp (red %d+%d, green %d+%d, blue %d+%d, stride %d)", f.Width, f.Height, f.BitsPerPixel,
		f.Red.Offset, f.Red.Length, f.Green.Offset, f.Green.Length, f.Blue.Offset, f.Blue.Length, f.Stride)
}

// Check says what, if anything, makes f impossible to draw into.
func (f Format) Check() error {
	switch f.BitsPerPixel {
	case 16, 24, 32:
	default:
		return fmt.Errorf("%d bits per pixel is not supported (16, 24 or 32)", f.BitsPerPixel)
	}
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("screen size %dx%d", f.Width, f.Height)
	}
	if f.Stride < (f.XOffset+f.Width)*f.BitsPerPixel/8 {
		return fmt.Errorf("line length %d bytes is too short for %d pixels at %d bpp", f.Stride, f.XOffset+f.Width, f.BitsPerPixel)
	}
	var used uint64
	for _, c := range []struct {
		name string
		b    Bitfield
	}{{"red", f.Red}, {"green", f.Green}, {"blue", f.Blue}, {"alpha", f.Alpha}} {
		b := c.b
		if b.Length > 16 || b.Offset+b.Length > uint32(f.BitsPerPixel) || (c.name != "alpha" && b.Length == 0) {
			return fmt.Errorf("%s bitfield offset %d length %d does not fit a %d bpp pixel", c.name, b.Offset, b.Length, f.BitsPerPixel)
		}
		bits := (uint64(1)<<b.Length - 1) << b.Offset
		if used&bits != 0 {
			return fmt.Errorf("%s bitfield offset %d length %d overlaps another channel", c.name, b.Offset, b.Length)
		}
		used |= bits
	}
	return nil
}

// Size is the bytes Pack writes: from the start of the framebuffer to the end of the last
// visible line.
func (f Format) Size() int {
	return (f.YOffset+f.Height-1)*f.Stride + (f.XOffset+f.Width)*f.BitsPerPixel/8
}

// Pack writes src into the framebuffer memory dst laid out as f (which must pass Check,
// with dst at least f.Size() bytes). The part of src outside f's size is ignored, and the
// part of the screen src does not cover is left as it was.
func Pack(dst []byte, f Format, src *image.RGBA) {
	w := min(f.Width, src.Rect.Dx())
	h := min(f.Height, src.Rect.Dy())
	bpp := f.BitsPerPixel / 8
	pack := packGeneric
	switch {
	case f == rgb565.withGeometry(f):
		pack = func(d, s []byte, _ Format) { packRGB565(d, s) }
	case f == xrgb8888.withGeometry(f):
		pack = func(d, s []byte, _ Format) { packXRGB8888(d, s) }
	case bpp == 4 && bytewise(f):
		pack = packBytes32
	}
	for y := range h {
		s := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][: 4*w : 4*w]
		o := (f.YOffset+y)*f.Stride + f.XOffset*bpp
		d := dst[o : o+w*bpp : o+w*bpp]
		pack(d, s, f)
	}
}

// PixelLayout is f's pixel layout for a screen.Renderer to draw frames in, so showing a
// frame is a copy (PackFrame) rather than a conversion (Pack). It fails for layouts the
// renderer does not draw (24 bpp).
func (f Format) PixelLayout() (*screen.PixelLayout, error) {
	return screen.NewPixelLayout(f.BitsPerPixel/8, f.pixel)
}

// pixel is the pixel Pack writes for an opaque colour: each channel's top bits at its
// bitfield, alpha all ones and, in a 32 bpp layout of whole bytes, the byte no channel
// uses 0xff too.
func (f Format) pixel(r, g, b uint8) uint32 {
	v := channel(r, f.Red) | channel(g, f.Green) | channel(b, f.Blue) | channel(0xff, f.Alpha)
	if f.BitsPerPixel == 32 && bytewise(f) {
		v |= 0xff << (8 * (6 - f.Red.Offset/8 - f.Green.Offset/8 - f.Blue.Offset/8))
	}
	return v
}

// PackFrame copies the part of src inside rect (in src's coordinates) into the
// framebuffer memory dst laid out as f, as Pack places an image; src must be in f's
// PixelLayout. Each line is one copy, the cheapest way to write a framebuffer.
func PackFrame(dst []byte, f Format, src *screen.Frame, rect image.Rectangle) {
	bpp := f.BitsPerPixel / 8
	screenRect := image.Rect(0, 0, f.Width, f.Height).Add(src.Rect.Min)
	rect = rect.Intersect(src.Rect).Intersect(screenRect)
	n := rect.Dx() * bpp
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		so := (y-src.Rect.Min.Y)*src.Stride + (rect.Min.X-src.Rect.Min.X)*bpp
		do := (f.YOffset+y-src.Rect.Min.Y)*f.Stride + (f.XOffset+rect.Min.X-src.Rect.Min.X)*bpp
		copy(dst[do:do+n], src.Pix[so:so+n])
	}
}

// withGeometry is f's pixel layout with g's geometry, to compare layouts.
func (f Format) withGeometry(g Format) Format {
	f.Width, f.Height, f.Stride, f.XOffset, f.YOffset = g.Width, g.Height, g.Stride, g.XOffset, g.YOffset
	return f
}

// bytewise reports whether every channel is a whole byte.
func bytewise(f Format) bool {
	for _, b := range []Bitfield{f.Red, f.Green, f.Blue} {
		if b.Length != 8 || b.Offset%8 != 0 {
			return false
		}
	}
	return f.Alpha.Length == 0 || (f.Alpha.Length == 8 && f.Alpha.Offset%8 == 0)
}

func packRGB565(d, s []byte) {
	n := len(s) / 4
	// Two pixels at a time: one 8-byte load, one 4-byte store.
	i := 0
	for ; i+1 < n; i += 2 {
		v := binary.LittleEndian.Uint64(s[4*i:])
		lo := uint32(v)
		hi := uint32(v >> 32)
		binary.LittleEndian.PutUint32(d[2*i:], lo&0xf8<<8|lo>>5&0x7e0|lo>>19&0x1f|(hi&0xf8<<8|hi>>5&0x7e0|hi>>19&0x1f)<<16)
	}
	if i < n {
		v := binary.LittleEndian.Uint32(s[4*i:])
		binary.LittleEndian.PutUint16(d[2*i:], uint16(v&0xf8<<8|v>>5&0x7e0|v>>19&0x1f))
	}
}

// packXRGB8888 swaps red and blue a whole pixel at a time.
func packXRGB8888(d, s []byte) {
	for i := range len(s) / 4 {
		v := binary.LittleEndian.Uint32(s[4*i:])
		binary.LittleEndian.PutUint32(d[4*i:], v&0xff00ff00|v>>16&0xff|v&0xff<<16|0xff000000)
	}
}

// packBytes32 handles 32 bpp layouts whose channels are whole bytes (XRGB8888, ARGB8888,
// XBGR8888, RGBX...); the byte no channel uses is set to 0xff, which is what a driver that
// reads it as alpha wants.
func packBytes32(d, s []byte, f Format) {
	ri, gi, bi := f.Red.Offset/8, f.Green.Offset/8, f.Blue.Offset/8
	// The remaining byte: alpha or padding.
	xi := uint32(6) - ri - gi - bi
	for i := range len(s) / 4 {
		p := s[4*i : 4*i+4 : 4*i+4]
		q := d[4*i : 4*i+4 : 4*i+4]
		q[ri], q[gi], q[bi], q[xi] = p[0], p[1], p[2], 0xff
	}
}

// packGeneric handles any layout Check accepts, a pixel at a time.
func packGeneric(d, s []byte, f Format) {
	bpp := f.BitsPerPixel / 8
	for i := range len(s) / 4 {
		p := s[4*i : 4*i+4]
		v := channel(p[0], f.Red) | channel(p[1], f.Green) | channel(p[2], f.Blue) | channel(0xff, f.Alpha)
		q := d[bpp*i : bpp*i+bpp]
		for k := range q {
			q[k] = byte(v >> (8 * k))
		}
	}
}

// channel scales an 8-bit value to b's length and moves it to b's offset.
func channel(c uint8, b Bitfield) uint32 {
	if b.Length == 0 {
		return 0
	}
	v := uint32(c)
	if b.Length <= 8 {
		v >>= 8 - b.Length
	} else {
		// Repeat the high bits into the extra low ones, so 0xff becomes all ones.
		v = v<<(b.Length-8) | v>>(16-b.Length)
	}
	return v << b.Offset
}
