package vp8

import (
	"image"
	"testing"
)

func TestScaleFor(t *testing.T) {
	for _, c := range []struct {
		bps, w, h, cur, want int
	}{
		{1_000_000, 640, 480, 1, 1},
		{300_000, 640, 480, 1, 2},
		{90_000, 640, 480, 1, 4},
		{90_000, 320, 240, 1, 2},  // not below 160 wide
		{50_000, 320, 240, 1, 2},  // the narrowest step
		{450_000, 640, 480, 2, 2}, // above the threshold, not by the margin: stays
		{600_000, 640, 480, 2, 1}, // by the margin: back up
		{1_100_000, 1280, 720, 1, 2},
		{1_300_000, 1280, 720, 1, 1},
	} {
		if got := scaleFor(c.bps, c.w, c.h, c.cur); got != c.want {
			t.Errorf("scaleFor(%d, %dx%d, from %d): got %d, want %d", c.bps, c.w, c.h, c.cur, got, c.want)
		}
	}
}

func TestScaleDown(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422} {
		src := image.NewYCbCr(image.Rect(0, 0, 640, 480), ratio)
		for i := range src.Y {
			src.Y[i] = uint8(i % 2 * 200) // alternate 0 and 200: averages to 100
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = 90, 160
		}
		for _, f := range []int{2, 4} {
			dst := scaleDown(src, f, nil)
			if dst.Rect.Dx() != 640/f || dst.Rect.Dy() != 480/f || dst.SubsampleRatio != image.YCbCrSubsampleRatio420 {
				t.Fatalf("%v/%d: got %v %v", ratio, f, dst.Rect, dst.SubsampleRatio)
			}
			if dst.Y[0] != 100 || dst.Y[len(dst.Y)-1] != 100 || dst.Cb[len(dst.Cb)-1] != 90 || dst.Cr[0] != 160 {
				t.Errorf("%v/%d: got Y %d..%d Cb %d Cr %d, want 100, 90, 160", ratio, f, dst.Y[0], dst.Y[len(dst.Y)-1], dst.Cb[len(dst.Cb)-1], dst.Cr[0])
			}
		}
	}
}
