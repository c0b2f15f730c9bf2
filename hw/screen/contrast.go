package screen

import (
	"image/color"
	"math"
)

// MinContrast is the least contrast ratio between any text and its background on the
// screen: WCAG 2.2 success criterion 1.4.6 (Contrast, Enhanced), level AAA.
const MinContrast = 7.0

// RelativeLuminance is WCAG's relative luminance of c (alpha ignored): 0 for black, 1 for
// white. https://www.w3.org/TR/WCAG22/#dfn-relative-luminance
func RelativeLuminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// ContrastRatio is WCAG's contrast ratio between two colours, from 1 (the same) to 21
// (black and white). https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio
func ContrastRatio(a, b color.Color) float64 {
	la, lb := RelativeLuminance(a), RelativeLuminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}
