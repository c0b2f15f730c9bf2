package vp8

import "image"

// Resolution steps. Below about 1.3 bits per pixel per second the picture at full size is
// a smear of blocks (or, at the coarsest quantizer, more than the bitrate carries); half
// the width and height at four times the bits per pixel looks better and keeps to the rate.
// This is what WebRTC's encoders do when the bandwidth estimate drops.
const (
	bitsPerPixel = 1.3
	// stepUpMargin: a step back up needs this much more than the threshold, so the size
	// does not flap with the estimate's noise (each change costs a keyframe).
	stepUpMargin = 1.3
	// minScaledWidth is the narrowest picture a step may make.
	minScaledWidth = 160
)

// scaleFor is the divisor (1, 2 or 4) of the width and height to encode w x h at bps,
// given the divisor in force.
func scaleFor(bps, w, h, cur int) int {
	f := 1
	for f < 4 && w/(f*2) >= minScaledWidth {
		need := bitsPerPixel * float64(w*h) / float64(f*f)
		if f < cur {
			need *= stepUpMargin // going back up to f from cur
		}
		if float64(bps) >= need {
			break
		}
		f *= 2
	}
	return f
}

// scaleDown averages f x f blocks of src (4:2:0, or 4:2:2 whose chroma is sampled at even
// rows) into dst, 4:2:0 of (w/f) x (h/f) rounded down to even sizes, reusing dst when it
// has that size.
func scaleDown(src *image.YCbCr, f int, dst *image.YCbCr) *image.YCbCr {
	r := src.Rect
	w, h := (r.Dx()/f)&^1, (r.Dy()/f)&^1
	if dst == nil || dst.Rect.Dx() != w || dst.Rect.Dy() != h {
		dst = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}
	n := f * f
	for y := 0; y < h; y++ {
		row := dst.Y[y*dst.YStride:]
		for x := 0; x < w; x++ {
			sum := 0
			for dy := 0; dy < f; dy++ {
				off := src.YOffset(r.Min.X+x*f, r.Min.Y+y*f+dy)
				for dx := 0; dx < f; dx++ {
					sum += int(src.Y[off+dx])
				}
			}
			row[x] = uint8((sum + n/2) / n)
		}
	}
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			var cb, cr int
			for dy := 0; dy < f; dy++ {
				for dx := 0; dx < f; dx++ {
					ci := src.COffset(r.Min.X+(2*x)*f+2*dx, r.Min.Y+(2*y)*f+2*dy)
					cb += int(src.Cb[ci])
					cr += int(src.Cr[ci])
				}
			}
			dst.Cb[y*dst.CStride+x] = uint8((cb + n/2) / n)
			dst.Cr[y*dst.CStride+x] = uint8((cr + n/2) / n)
		}
	}
	return dst
}
