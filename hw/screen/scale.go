package screen

import (
	"encoding/binary"
	"image"
)

// scaler draws a YCbCr picture into a rectangle of an RGBA image, nearest-neighbour, with
// the per-column and per-row source offsets worked out once per geometry so a frame costs
// no allocation. The colour conversion is image/color's YCbCrToRGB (JFIF, BT.601 full
// range), inlined.
type scaler struct {
	key        scaleKey
	ys, cs     []int   // per destination row: offset of the source row in Y and in Cb/Cr
	xs, xcs    []int   // per destination column: offset within the Y row and the Cb/Cr row
	cr, cg, cb []int32 // per destination column: the current chroma row's terms
	haveTable  bool
}

type scaleKey struct {
	src, dst         image.Rectangle
	yStride, cStride int
	ratio            image.YCbCrSubsampleRatio
	mirror           bool
}

func (s *scaler) prepare(k scaleKey, src *image.YCbCr) {
	if s.haveTable && s.key == k {
		return
	}
	s.key, s.haveTable = k, true
	dw, dh := k.dst.Dx(), k.dst.Dy()
	sw, sh := k.src.Dx(), k.src.Dy()
	s.xs, s.xcs = resize(s.xs, dw), resize(s.xcs, dw)
	s.cr, s.cg, s.cb = resize(s.cr, dw), resize(s.cg, dw), resize(s.cb, dw)
	s.ys, s.cs = resize(s.ys, dh), resize(s.cs, dh)
	for dx := 0; dx < dw; dx++ {
		// Sample at the centre of each destination pixel.
		sx := k.src.Min.X + ((2*dx+1)*sw)/(2*dw)
		if k.mirror {
			sx = k.src.Max.X - 1 - (sx - k.src.Min.X)
		}
		s.xs[dx] = src.YOffset(sx, k.src.Min.Y)
		s.xcs[dx] = src.COffset(sx, k.src.Min.Y)
	}
	for dy := 0; dy < dh; dy++ {
		sy := k.src.Min.Y + ((2*dy+1)*sh)/(2*dh)
		s.ys[dy] = src.YOffset(k.src.Min.X, sy)
		s.cs[dy] = src.COffset(k.src.Min.X, sy)
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// draw scales src into rect of dst (clipped to dst), mirrored left to right if asked.
//
// Per destination row the chroma terms (91881*Cr for red, -22554*Cb-46802*Cr for green,
// 116130*Cb for blue) are worked out once per source chroma row and kept, so 4:2:0 rows
// share them; a destination row that samples the same source row as the one above (when
// scaling up) is copied.
func (s *scaler) draw(dst *image.RGBA, rect image.Rectangle, src *image.YCbCr, mirror bool) {
	rect = rect.Intersect(dst.Rect)
	if rect.Empty() || src.Rect.Empty() {
		return
	}
	s.prepare(scaleKey{src: src.Rect, dst: rect, yStride: src.YStride, cStride: src.CStride,
		ratio: src.SubsampleRatio, mirror: mirror}, src)
	w := rect.Dx()
	xs, xcs := s.xs[:w], s.xcs[:w]
	cr, cg, cb := s.cr[:w], s.cg[:w], s.cb[:w]
	lastC, lastY := -1, -1
	var prev []byte
	for dy := range rect.Dy() {
		o := dst.PixOffset(rect.Min.X, rect.Min.Y+dy)
		row := dst.Pix[o : o+4*w : o+4*w]
		if s.ys[dy] == lastY && s.cs[dy] == lastC {
			copy(row, prev)
			continue
		}
		if c := s.cs[dy]; c != lastC {
			lastC = c
			cbRow, crRow := src.Cb[c:], src.Cr[c:]
			for dx := range w {
				cb1 := int32(cbRow[xcs[dx]]) - 128
				cr1 := int32(crRow[xcs[dx]]) - 128
				cr[dx] = 91881 * cr1
				cg[dx] = -22554*cb1 - 46802*cr1
				cb[dx] = 116130 * cb1
			}
		}
		lastY = s.ys[dy]
		ys := src.Y[lastY:]
		for dx := range w {
			yy1 := int32(ys[xs[dx]]) * 0x10101
			r := yy1 + cr[dx]
			if uint32(r)&0xff000000 == 0 {
				r >>= 16
			} else {
				r = ^(r >> 31)
			}
			g := yy1 + cg[dx]
			if uint32(g)&0xff000000 == 0 {
				g >>= 16
			} else {
				g = ^(g >> 31)
			}
			b := yy1 + cb[dx]
			if uint32(b)&0xff000000 == 0 {
				b >>= 16
			} else {
				b = ^(b >> 31)
			}
			binary.LittleEndian.PutUint32(row[4*dx:], uint32(r)&0xff|(uint32(g)&0xff)<<8|(uint32(b)&0xff)<<16|0xff<<24)
		}
		prev = row
	}
}
