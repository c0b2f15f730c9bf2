package playout

// ramp is a gain that moves linearly to its target, sample by sample, so no change of
// volume, mute, ducking or fade is ever a step in the waveform.
type ramp struct {
	cur, target float32
	step        float32 // per sample, > 0
}

// set aims the ramp at target, to arrive in samples.
func (r *ramp) set(target float32, samples int) {
	r.target = target
	d := target - r.cur
	if d < 0 {
		d = -d
	}
	r.step = d / float32(max(samples, 1))
	if r.step == 0 {
		r.step = 1
	}
}

// jump puts the ramp at v now; for a gain applied to silence, where there is no step to hear.
func (r *ramp) jump(v float32) { r.cur, r.target = v, v }

// settled reports whether the ramp is at its target.
func (r *ramp) settled() bool { return r.cur == r.target }

// apply multiplies buf by the gain, moving it one step per sample.
func (r *ramp) apply(buf []float32) {
	if r.settled() {
		if r.cur != 1 {
			for i := range buf {
				buf[i] *= r.cur
			}
		}
		return
	}
	for i := range buf {
		switch {
		case r.cur < r.target:
			r.cur = min(r.cur+r.step, r.target)
		case r.cur > r.target:
			r.cur = max(r.cur-r.step, r.target)
		}
		buf[i] *= r.cur
	}
}
