package prompt

import "math"

// resampleTaps is the half-width of the interpolation kernel, in input samples.
const resampleTaps = 16

// maxPhases bounds the precomputed kernel table: 22.05 to 48 kHz needs 320 phases.
const maxPhases = 4096

// Resample converts mono PCM from one rate to another with a windowed-sinc (Blackman)
// interpolator whose cut-off sits just under the lower rate's Nyquist frequency, so
// 22.05 kHz speech comes out at 48 kHz without the images linear interpolation leaves.
// The result is a new slice.
func Resample(pcm []int16, from, to int) []int16 {
	if from == to || len(pcm) == 0 || from <= 0 || to <= 0 {
		return append([]int16(nil), pcm...)
	}
	n := int(int64(len(pcm)) * int64(to) / int64(from))
	out := make([]int16, n)
	// Output sample i sits at input position i*from/to: its integer part c and its
	// fractional phase (i*from mod to)/to. With g = gcd(from, to) there are to/g phases,
	// so their kernels are computed once.
	g := gcd(from, to)
	up, down := to/g, from/g
	fc := 0.45 * math.Min(1, float64(to)/float64(from)) // cut-off, relative to the input rate
	var table [][2 * resampleTaps]float64
	if up <= maxPhases {
		table = make([][2 * resampleTaps]float64, up)
		for ph := range table {
			table[ph] = kernel(float64(ph)/float64(up), fc)
		}
	}
	for i := range out {
		pos := int64(i) * int64(down)
		c := int(pos / int64(up))
		ph := int(pos % int64(up))
		var h [2 * resampleTaps]float64
		if table != nil {
			h = table[ph]
		} else {
			h = kernel(float64(ph)/float64(up), fc)
		}
		var acc float64
		for j := range h {
			k := c - resampleTaps + 1 + j
			if k >= 0 && k < len(pcm) {
				acc += h[j] * float64(pcm[k])
			}
		}
		out[i] = int16(math.Max(math.MinInt16, math.Min(math.MaxInt16, math.Round(acc))))
	}
	return out
}

// kernel returns the taps for input samples c-15 .. c+16 of an output at c+frac,
// normalised to unity gain at DC.
func kernel(frac, fc float64) [2 * resampleTaps]float64 {
	var h [2 * resampleTaps]float64
	var norm float64
	for j := range h {
		x := frac - float64(j-resampleTaps+1) // distance from the tap to the output position
		h[j] = 2 * fc * sinc(2*fc*x) * blackman(x/resampleTaps)
		norm += h[j]
	}
	for j := range h {
		h[j] /= norm
	}
	return h
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window over x in [-1, 1].
func blackman(x float64) float64 {
	if x <= -1 || x >= 1 {
		return 0
	}
	a := math.Pi * (x + 1)
	return 0.42 - 0.5*math.Cos(a) + 0.08*math.Cos(2*a)
}
