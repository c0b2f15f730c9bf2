package screen

import (
	"encoding/binary"
	"image"
)

// scaler draws a YCbCr picture into a rectangle of a Frame, nearest-neighbour, with the
// per-column and per-row source offsets worked out once per geometry so a frame costs no
// allocation. The colour conversion is the frame layout's channelTables.
//
// A call's picture is nearly always drawn 1:1 (a 1280x720 clinician on a 1280x720 panel)
// or scaled up (640x480 on 720 lines), and that is where a booth's CPU goes, so those two
// have paths of their own: each source row is converted once, straight into the frame's
// row or into a scratch row that is then spread over the wider destination, and the two
// pixels that share a 4:2:2 or 4:2:0 chroma sample share its arithmetic too. Scaling down
// (a camera's self-view) and the rare 4:1:1 pictures take the general path, which looks
// every column up in a table. All paths give the same pixels.
type scaler struct {
	key       scaleKey
	haveTable bool
	mode      scaleMode
	ys, cs    []int // per destination row: offset of the source row in Y and in Cb/Cr
	// The general path's tables.
	xs, xcs    []int   // per destination column: offset within the Y row and the Cb/Cr row
	cr, cg, cb []int32 // per destination column: the current chroma row's terms
	// The spread path's.
	xi   []int  // per destination column: the source column, from the picture's left
	line []byte // one source row converted, to spread
	// onlyGeneral makes every geometry take the general path, for tests that compare the
	// paths.
	onlyGeneral bool
}

type scaleKey struct {
	src, dst         image.Rectangle
	yStride, cStride int
	ratio            image.YCbCrSubsampleRatio
	mirror           bool
	bytes            int // per destination pixel
}

// scaleMode is how draw fills a destination row that does not repeat the one above.
type scaleMode int

const (
	// scaleGeneral samples each destination column through the xs and xcs tables.
	scaleGeneral scaleMode = iota
	// scaleDirect converts the source row straight into the destination: 1:1 across and
	// not mirrored.
	scaleDirect
	// scaleSpread converts the source row into line, then copies each destination
	// column's pixel from it: wider than the source, or mirrored.
	scaleSpread
)

func (s *scaler) prepare(k scaleKey, src *image.YCbCr) {
	if s.haveTable && s.key == k {
		return
	}
	s.key, s.haveTable = k, true
	dw, dh := k.dst.Dx(), k.dst.Dy()
	sw, sh := k.src.Dx(), k.src.Dy()
	s.ys, s.cs = resize(s.ys, dh), resize(s.cs, dh)
	for dy := 0; dy < dh; dy++ {
		sy := k.src.Min.Y + ((2*dy+1)*sh)/(2*dh)
		s.ys[dy] = src.YOffset(k.src.Min.X, sy)
		s.cs[dy] = src.COffset(k.src.Min.X, sy)
	}
	s.mode = s.pickMode(k)
	switch s.mode {
	case scaleGeneral:
		s.xs, s.xcs = resize(s.xs, dw), resize(s.xcs, dw)
		s.cr, s.cg, s.cb = resize(s.cr, dw), resize(s.cg, dw), resize(s.cb, dw)
		for dx := 0; dx < dw; dx++ {
			sx := sourceColumn(k, dx)
			s.xs[dx] = src.YOffset(sx, k.src.Min.Y)
			s.xcs[dx] = src.COffset(sx, k.src.Min.Y)
		}
	case scaleSpread:
		s.xi = resize(s.xi, dw)
		for dx := 0; dx < dw; dx++ {
			s.xi[dx] = sourceColumn(k, dx) - k.src.Min.X
		}
		s.line = resize(s.line, k.bytes*sw)
	}
}

// pickMode chooses the fastest path for k.
func (s *scaler) pickMode(k scaleKey) scaleMode {
	sw, dw := k.src.Dx(), k.dst.Dx()
	// The row converter pairs columns 2n and 2n+1 for 4:2:x chroma, which is how
	// image.YCbCr pairs them only from column 0 on (it divides rounding toward zero).
	j := hsub(k.ratio)
	rowOK := k.src.Min.X >= 0 && (j == 1 || j == 2)
	switch {
	case s.onlyGeneral || !rowOK || dw < sw:
		return scaleGeneral
	case dw == sw && !k.mirror:
		return scaleDirect
	}
	return scaleSpread
}

// sourceColumn is the source column destination column dx samples: the one under the
// centre of the destination pixel, counted from the right when mirrored.
func sourceColumn(k scaleKey, dx int) int {
	sw, dw := k.src.Dx(), k.dst.Dx()
	sx := ((2*dx + 1) * sw) / (2 * dw)
	if k.mirror {
		return k.src.Max.X - 1 - sx
	}
	return k.src.Min.X + sx
}

// hsub is how many columns share one chroma sample in r.
func hsub(r image.YCbCrSubsampleRatio) int {
	j, _ := subsample(r)
	return j
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// draw scales src into rect of dst (clipped to dst), mirrored left to right if asked.
//
// A destination row that samples the same source row as the one above (when scaling up)
// is copied.
func (s *scaler) draw(dst *Frame, rect image.Rectangle, src *image.YCbCr, mirror bool) {
	rect = rect.Intersect(dst.Rect)
	if rect.Empty() || src.Rect.Empty() {
		return
	}
	t, wide := &dst.Layout.tab, dst.Layout.bytes == 4
	s.prepare(scaleKey{src: src.Rect, dst: rect, yStride: src.YStride, cStride: src.CStride,
		ratio: src.SubsampleRatio, mirror: mirror, bytes: dst.Layout.bytes}, src)
	sw := src.Rect.Dx()
	odd := src.Rect.Min.X%2 == 1
	lastC, lastY := -1, -1
	var prev []byte
	for dy := range rect.Dy() {
		row := dst.row(rect, rect.Min.Y+dy)
		yo, co := s.ys[dy], s.cs[dy]
		switch {
		case yo == lastY && co == lastC:
			copy(row, prev)
		case s.mode == scaleDirect:
			t.convertRow(row, src.Y[yo:yo+sw], src.Cb[co:], src.Cr[co:], hsub(src.SubsampleRatio), odd, wide)
		case s.mode == scaleSpread:
			t.convertRow(s.line, src.Y[yo:yo+sw], src.Cb[co:], src.Cr[co:], hsub(src.SubsampleRatio), odd, wide)
			spread(row, s.line, s.xi, wide)
		default:
			s.generalRow(t, row, src, yo, co, co != lastC, wide)
		}
		lastY, lastC, prev = yo, co, row
	}
}

// generalRow fills row from the Y row at yo and the chroma row at co through the column
// tables. The chroma terms are looked up only when newChroma says the chroma row changed,
// so 4:2:0 rows share them.
func (s *scaler) generalRow(t *channelTables, row []byte, src *image.YCbCr, yo, co int, newChroma, wide bool) {
	w := len(s.xs)
	xs, xcs := s.xs[:w], s.xcs[:w]
	cr, cg, cb := s.cr[:w], s.cg[:w], s.cb[:w]
	if newChroma {
		cbRow, crRow := src.Cb[co:], src.Cr[co:]
		for dx := range w {
			cr[dx], cg[dx], cb[dx] = t.chroma(cbRow[xcs[dx]], crRow[xcs[dx]])
		}
	}
	ys := src.Y[yo:]
	for dx := range w {
		putPixel(row, dx, t.pixel(ys[xs[dx]], cr[dx], cg[dx], cb[dx]), wide)
	}
}

// convertRow converts the Y samples y (one source row) and their chroma, which start at
// cb[0] and cr[0] and are shared by j columns (1 or 2), into pixels at the start of dst,
// 4 bytes each if wide, else 2. odd says the row starts at an odd column, the second of
// a chroma pair.
func (t *channelTables) convertRow(dst, y, cb, cr []byte, j int, odd, wide bool) {
	if j == 1 {
		t.convertRow444(dst, y, cb, cr, wide)
	} else {
		t.convertRow422(dst, y, cb, cr, odd, wide)
	}
}

// convertRow444 converts a row whose every pixel has its own chroma.
func (t *channelTables) convertRow444(dst, y, cb, cr []byte, wide bool) {
	n := len(y)
	cb, cr = cb[:n], cr[:n]
	for i := range n {
		r, g, b := t.chroma(cb[i], cr[i])
		putPixel(dst, i, t.pixel(y[i], r, g, b), wide)
	}
}

// convertRow422 converts a row whose pixels share chroma in pairs.
func (t *channelTables) convertRow422(dst, y, cb, cr []byte, odd, wide bool) {
	if odd && len(y) > 0 {
		r, g, b := t.chroma(cb[0], cr[0])
		putPixel(dst, 0, t.pixel(y[0], r, g, b), wide)
		bytes := 2
		if wide {
			bytes = 4
		}
		dst, y, cb, cr = dst[bytes:], y[1:], cb[1:], cr[1:]
	}
	n := len(y) / 2
	if len(y)%2 == 1 {
		r, g, b := t.chroma(cb[n], cr[n])
		putPixel(dst, 2*n, t.pixel(y[2*n], r, g, b), wide)
	}
	y, cb, cr = y[:2*n], cb[:n], cr[:n]
	for i := range n {
		r, g, b := t.chroma(cb[i], cr[i])
		pair := y[2*i : 2*i+2 : 2*i+2]
		putPair(dst, i, t.pixel(pair[0], r, g, b), t.pixel(pair[1], r, g, b), wide)
	}
}

// spread fills row's pixels from line's, column dx from line's column xi[dx].
func spread(row, line []byte, xi []int, wide bool) {
	if wide {
		for dx, i := range xi[:len(row)/4] {
			binary.LittleEndian.PutUint32(row[4*dx:4*dx+4:4*dx+4], binary.LittleEndian.Uint32(line[4*i:4*i+4:4*i+4]))
		}
	} else {
		for dx, i := range xi[:len(row)/2] {
			binary.LittleEndian.PutUint16(row[2*dx:2*dx+2:2*dx+2], binary.LittleEndian.Uint16(line[2*i:2*i+2:2*i+2]))
		}
	}
}
