package playout

import (
	"fmt"
	"math"
	"testing"
)

func toneFloat(hz float64, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*hz*float64(i)/sampleRate))
	}
	return x
}

// checkSmooth fails if x has a step bigger than twice a tone's steepest, or a 5 ms window
// below 90% of the tone's level: stretching must be neither heard as a click nor a dip.
func checkSmooth(t *testing.T, x []float32, hz float64) {
	t.Helper()
	pcm := make([]int16, len(x))
	for i, v := range x {
		pcm[i] = toInt16(v)
	}
	if step, at := maxStep(pcm); float64(step) > 2*sineSlope(hz) {
		t.Errorf("step %d at %d, want none above %.0f", step, at, 2*sineSlope(hz))
	}
	nominal := toneAmp / math.Sqrt2
	for i := 0; i+240 <= len(pcm); i += 240 {
		if r := rmsInt16(pcm[i : i+240]); r < 0.9*nominal {
			t.Errorf("5 ms window at %d: RMS %.0f, want at least %.0f", i, r, 0.9*nominal)
		}
	}
}

func TestStretch(t *testing.T) {
	// 440 Hz is a tone; 120 and 210 Hz are a man's and a woman's voice's fundamental.
	for _, hz := range []float64{120, 210, 440} {
		t.Run(fmt.Sprintf("%.0f Hz", hz), func(t *testing.T) {
			two := toneFloat(hz, 2*frameLen)
			short, corr := shorten(nil, two, frameLen)
			if cut := len(two) - len(short); cut < frameLen-pitchMax/2 || cut > frameLen+pitchMax/2 {
				t.Errorf("shorten by about %d: cut %d", frameLen, cut)
			}
			if corr < 0.99 {
				t.Errorf("shorten: correlation %.3f, want a tone to match itself", corr)
			}
			checkSmooth(t, short, hz)

			one := toneFloat(hz, frameLen)
			long := lengthen(nil, one)
			grown := len(long) - len(one)
			period := sampleRate / hz
			if grown < pitchMin || math.Abs(float64(grown)/period-math.Round(float64(grown)/period)) > 0.05 {
				t.Errorf("lengthen by %d samples, want a whole number of %.1f-sample periods", grown, period)
			}
			checkSmooth(t, long, hz)
		})
	}
	// A frame too short to hold a pitch period comes back as it was.
	x := toneFloat(440, 200)
	if got := lengthen(nil, x); len(got) != len(x) {
		t.Errorf("lengthen of 200 samples: got %d, want 200", len(got))
	}
}
