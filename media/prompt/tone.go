package prompt

import (
	"math"
	"time"
)

// Tone is a short sine at hz, d long, at level (0 to 1 of full scale), at SampleRate, with
// 5 ms raised-cosine edges so it starts and stops without a click: the sound a volume
// button makes, at the new volume, so a patient hears the change even in silence.
func Tone(hz float64, d time.Duration, level float64) []int16 {
	n := int(d * SampleRate / time.Second)
	edge := min(n/2, SampleRate/200)
	out := make([]int16, n)
	for i := range out {
		g := level
		if k := min(i, n-1-i); k < edge {
			g *= 0.5 - 0.5*math.Cos(math.Pi*float64(k)/float64(edge))
		}
		out[i] = int16(math.Round(g * math.MaxInt16 * math.Sin(2*math.Pi*hz*float64(i)/SampleRate)))
	}
	return out
}
