package synth

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"time"
)

// ErrNoStamp is returned by ReadStamp when a picture carries no readable stamp: it is too
// small, the code is not there, or a cell was misread (the sync byte or the checksum does
// not match). A misread is rejected, never returned as a wrong value.
var ErrNoStamp = errors.New("synth: no stamp in the picture")

// The stamp is a grid of black and white cells, stampCols by stampRows, one bit each:
// a sync byte, the 32-bit value and a CRC-16 of both, most significant bit first, row by
// row. Its geometry is a fixed fraction of the picture, so a copy scaled to another size
// (the booth's panel) reads back: each cell is 1/40 of the width and 2/45 of the height
// (32x32 pixels, two VP8 macroblocks square, at 1280x720), and the grid's top left corner
// sits at 1/40 of the width and 1/4 of the height, clear of hw/screen's call overlay (the
// microphone box at the top centre or bottom left, the self-view at the bottom right) and
// above the moving square.
const (
	stampCols = 28
	stampRows = 2
	stampSync = 0xb4
	// stampBlack and stampWhite are the luma of the cells: video range (BT.601) black and
	// white, which every encoder keeps.
	stampBlack = 16
	stampWhite = 235
	// stampMinWidth and stampMinHeight are the smallest picture whose cells are at least
	// 2x2 pixels.
	stampMinWidth  = 80
	stampMinHeight = 45
)

// stampGrid is where the cells of a w x h picture are, relative to its top left corner.
type stampGrid struct{ x0, y0, cw, ch int }

func gridFor(w, h int) (stampGrid, bool) {
	if w < stampMinWidth || h < stampMinHeight {
		return stampGrid{}, false
	}
	return stampGrid{x0: w / 40, y0: h / 4, cw: w / 40, ch: h * 2 / 45}, true
}

// cell is the rectangle of cell i, relative to the picture's top left corner.
func (g stampGrid) cell(i int) image.Rectangle {
	x := g.x0 + (i%stampCols)*g.cw
	y := g.y0 + (i/stampCols)*g.ch
	return image.Rect(x, y, x+g.cw, y+g.ch)
}

// bounds is the whole code's rectangle, relative to the picture's top left corner.
func (g stampGrid) bounds() image.Rectangle {
	return image.Rect(g.x0, g.y0, g.x0+stampCols*g.cw, g.y0+stampRows*g.ch)
}

// stampPayload is the sync byte, v and the checksum, as the cells show them.
func stampPayload(v uint32) [7]byte {
	p := [7]byte{stampSync, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	c := crc16(p[:5])
	p[5], p[6] = byte(c>>8), byte(c)
	return p
}

// crc16 is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xffff): it catches every
// misread of up to three cells, and all but one in 65536 of the others.
func crc16(b []byte) uint16 {
	c := uint16(0xffff)
	for _, x := range b {
		c ^= uint16(x) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// DrawStamp draws v into img as the stamp code ReadStamp reads: luma black or white, chroma
// neutral, over the band described above. It refuses pictures smaller than 80x45.
func DrawStamp(img *image.YCbCr, v uint32) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	g, ok := gridFor(w, h)
	if !ok {
		return fmt.Errorf("synth: stamp on a %dx%d picture: at least %dx%d needed", w, h, stampMinWidth, stampMinHeight)
	}
	p := stampPayload(v)
	for i := range stampCols * stampRows {
		luma := uint8(stampBlack)
		if p[i/8]&(0x80>>(i%8)) != 0 {
			luma = stampWhite
		}
		r := g.cell(i).Add(img.Rect.Min)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			o := img.YOffset(r.Min.X, y)
			row := img.Y[o : o+r.Dx()]
			for x := range row {
				row[x] = luma
			}
		}
	}
	// Neutral chroma over the whole band, so the cells are grey-scale in RGB as well.
	r := g.bounds().Add(img.Rect.Min)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := img.COffset(x, y)
			img.Cb[o], img.Cr[o] = 128, 128
		}
	}
	return nil
}

// ReadStamp reads the value DrawStamp drew, from the picture or a copy of it scaled to any
// size (img's bounds are taken to be the whole picture: hand a letterboxed picture in as
// the sub-image it fills). Each cell is read as the mean luma of its middle half, black
// below mid-grey, white above. A picture without a readable stamp gives ErrNoStamp.
//
// *image.YCbCr and *image.RGBA are read directly; any other image goes through At, which
// is slower but still only a few thousand pixels.
func ReadStamp(img image.Image) (uint32, error) {
	b := img.Bounds()
	g, ok := gridFor(b.Dx(), b.Dy())
	if !ok {
		return 0, fmt.Errorf("%w: a %dx%d picture is too small", ErrNoStamp, b.Dx(), b.Dy())
	}
	luma := lumaOf(img)
	var p [7]byte
	for i := range stampCols * stampRows {
		c := g.cell(i).Add(b.Min)
		// The middle half: away from the edges, which the codec and scaling blur.
		c = c.Inset(min(c.Dx(), c.Dy()) / 4)
		var sum, n int
		for y := c.Min.Y; y < c.Max.Y; y++ {
			for x := c.Min.X; x < c.Max.X; x++ {
				sum += int(luma(x, y))
				n++
			}
		}
		if sum >= 128*n {
			p[i/8] |= 0x80 >> (i % 8)
		}
	}
	if p[0] != stampSync {
		return 0, fmt.Errorf("%w: sync byte %#02x, want %#02x", ErrNoStamp, p[0], stampSync)
	}
	if got, want := uint16(p[5])<<8|uint16(p[6]), crc16(p[:5]); got != want {
		return 0, fmt.Errorf("%w: checksum %#04x, want %#04x", ErrNoStamp, got, want)
	}
	return uint32(p[1])<<24 | uint32(p[2])<<16 | uint32(p[3])<<8 | uint32(p[4]), nil
}

// lumaOf returns a function giving the luma (0 black, 255 white) at a point of img.
func lumaOf(img image.Image) func(x, y int) uint8 {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) uint8 { return m.Y[m.YOffset(x, y)] }
	case *image.RGBA:
		return func(x, y int) uint8 {
			p := m.Pix[m.PixOffset(x, y):]
			// BT.601 weights in 1/256ths: 77 R + 150 G + 29 B.
			return uint8((77*int(p[0]) + 150*int(p[1]) + 29*int(p[2])) >> 8)
		}
	default:
		return func(x, y int) uint8 { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y }
	}
}

// StampTime is the time a stamped source's value v stands for: v whole milliseconds after
// epoch (Config.StampEpoch). Values wrap after 2^32 ms (49.7 days); a benchmark's call is
// far shorter.
func StampTime(epoch time.Time, v uint32) time.Time {
	return epoch.Add(time.Duration(v) * time.Millisecond)
}

// stampValue is the value a frame captured at t carries.
func stampValue(epoch, t time.Time) uint32 {
	return uint32(t.Sub(epoch) / time.Millisecond)
}
