package playout

import "math"

// Time stretching, after WSOLA (waveform-similarity overlap-add) as WebRTC NetEQ's
// accelerate and preemptive expand do it: to play less or more than was sent, cut out or
// repeat a stretch of the decoded sound whose length is a whole number of pitch periods,
// found where the waveform best matches itself, and cross-fade across the join. Voiced
// speech and tones come out with no dip and no click; noise has no period to find and
// the cross-fade hides the join.
const (
	stretchOverlap = sampleRate / 200       // 5 ms cross-fade
	stretchStart   = sampleRate / 400       // 2.5 ms in: where the join is made
	pitchMin       = sampleRate / 400       // 2.5 ms: a 400 Hz voice
	pitchMax       = sampleRate * 15 / 1000 // 15 ms: a 67 Hz voice
)

// matchLag returns the lag in [lo, hi] at which x[s:s+w] best matches x[s+lag:s+lag+w]
// (normalised cross-correlation), preferring the longest of the peaks within 2% of the
// best, and that correlation.
func matchLag(x []float32, s, w, lo, hi int) (int, float64) {
	var cs [2 * pitchMax]float64 // correlations by lag-lo; lo..hi spans at most pitchMax+1
	hi = min(hi, len(x)-s-w, lo+len(cs)-1)
	if hi < lo {
		return lo, 0
	}
	best := math.Inf(-1)
	for lag := lo; lag <= hi; lag++ {
		var xy, xx, yy float64
		for i := 0; i < w; i++ {
			a, b := float64(x[s+i]), float64(x[s+lag+i])
			xy += a * b
			xx += a * a
			yy += b * b
		}
		c := 0.0
		if xx > 0 && yy > 0 {
			c = xy / math.Sqrt(xx*yy)
		}
		cs[lag-lo] = c
		best = max(best, c)
	}
	// The longest lag at a peak of the correlation (a whole number of periods) that is
	// nearly as good as the best one.
	for lag := hi; lag >= lo; lag-- {
		c := cs[lag-lo]
		peak := (lag == lo || c >= cs[lag-lo-1]) && (lag == hi || c >= cs[lag-lo+1])
		if peak && c >= best-0.02*math.Abs(best) {
			return lag, c
		}
	}
	return lo, 0
}

// shorten plays x (two frames back to back) about want samples shorter: it cuts
// x[s:s+lag] out, lag within half the longest pitch period of want and matched to the
// waveform, joining the two sides with a cross-fade. The result is written into dst;
// corr is how well the two sides matched (1 for a steady tone), for the caller to judge
// whether the cut would be heard.
func shorten(dst, x []float32, want int) (out []float32, corr float64) {
	s, w := stretchStart, stretchOverlap
	lo := max(want-pitchMax/2, pitchMin)
	hi := min(want+pitchMax/2, len(x)-s-w)
	lag, corr := matchLag(x, s, w, lo, hi)
	dst = append(dst[:0], x[:s]...)
	for i := 0; i < w; i++ {
		g := float32(i+1) / float32(w+1)
		dst = append(dst, x[s+i]*(1-g)+x[s+lag+i]*g)
	}
	return append(dst, x[s+lag+w:]...), corr
}

// lengthen plays x (one frame) longer by a whole number of pitch periods, as many as fit
// within it (up to about half of it): it plays x up to s+lag, then goes back to s and
// plays on from there, cross-fading across the jump. The result is written into dst.
func lengthen(dst, x []float32) []float32 {
	s, w := stretchStart, stretchOverlap
	hi := min(pitchMax, len(x)-s-w)
	if hi < pitchMin {
		return append(dst[:0], x...) // too short a frame to find a period in
	}
	lag, _ := matchLag(x, s, w, pitchMin, hi)
	dst = append(dst[:0], x[:s+lag]...)
	for i := 0; i < w; i++ {
		g := float32(i+1) / float32(w+1)
		dst = append(dst, x[s+lag+i]*(1-g)+x[s+i]*g)
	}
	return append(dst, x[s+w:]...)
}
