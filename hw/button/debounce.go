package button

import "time"

// debouncer turns one button's raw edges into presses. It is a pure state machine with
// explicit times, so the timing rules are tested without goroutines; GPIO.Run owns one per
// button and is the only caller (no locking).
//
// The rule is "wait for quiet, then sample": an edge only says the line may have changed.
// The level is read once no edge has arrived for the quiet interval, and only a sampled
// level different from the debounced one is a change. So a burst of contact bounce is one
// change, and a glitch shorter than the interval (the line is back where it was when
// sampled) is none. Sampling the level rather than counting edges also survives edges the
// kernel coalesced or that were lost, and WaitForEdge not saying which edge it saw.
type debouncer struct {
	quiet time.Duration // the line must be quiet this long before it is sampled
	hold  time.Duration // long-press threshold; 0: the button has no long press
	// repeatAfter and repeatEvery, when not 0, make a held button (without a long press)
	// press again: first repeatAfter after it went down, then every repeatEvery.
	repeatAfter, repeatEvery time.Duration

	pressed  bool      // the debounced state
	stuck    bool      // read pressed at start: ignored until first released
	pending  bool      // edges seen since the last sample
	since    time.Time // first edge of the pending burst
	settleAt time.Time // last edge of the pending burst + quiet
	downAt   time.Time // when the current press began (its first edge)
	longDone bool      // LongPress already sent for the current press
	repeatAt time.Time // the next repeat of a held button, if it repeats
}

// change is what a sample did, beyond the events: reported so the owner can log it.
type change int

const (
	noChange change = iota
	pressedDown
	released
	unstuck // a button read pressed at start was released; it works from now on
)

// start sets the level read before the first edge. A button that reads pressed at start
// is not a press: it is held, jammed, or wired with the wrong active level, and it is
// ignored until it is released.
func (d *debouncer) start(active bool) {
	d.pressed, d.stuck = active, active
}

// edge records an edge seen at now.
func (d *debouncer) edge(now time.Time) {
	if !d.pending {
		d.pending, d.since = true, now
	}
	d.settleAt = now.Add(d.quiet)
}

// next says when due must next be called, if ever.
func (d *debouncer) next() (time.Time, bool) {
	if d.pending {
		// A long press waits for the line to settle too: bounce or noise during a hold
		// must not end it, and a release bouncing at the threshold must not become one.
		return d.settleAt, true
	}
	if d.pressed && !d.stuck && d.hold > 0 && !d.longDone {
		return d.downAt.Add(d.hold), true
	}
	if d.repeats() {
		return d.repeatAt, true
	}
	return time.Time{}, false
}

// due is called at or after next() with the line's level at now (true: pressed). It
// returns the events' kinds in order and what changed.
//
// A button without a long press sends Press as soon as it is pressed: a person gets an
// answer without having to let go. A button with one (End: hold to cancel) cannot know
// which it is until it is released or the threshold passes, so it sends Press on a release
// before the threshold and LongPress when the threshold passes while still held (not at
// the release, so the person holding it sees the booth react).
func (d *debouncer) due(now time.Time, active bool) ([]Kind, change) {
	var kinds []Kind
	ch := noChange
	if d.pending && !now.Before(d.settleAt) {
		d.pending = false
		switch {
		case active == d.pressed:
			// A glitch, or bounce that came back: nothing happened.
		case active:
			d.pressed, d.downAt, d.longDone = true, d.since, false
			ch = pressedDown
			if d.hold == 0 {
				kinds = append(kinds, Press)
				d.repeatAt = now.Add(d.repeatAfter)
			}
		default:
			d.pressed = false
			ch = released
			switch {
			case d.stuck:
				d.stuck = false
				ch = unstuck
			case d.hold > 0 && !d.longDone:
				kinds = append(kinds, Press)
			}
		}
	}
	if !d.pending && d.pressed && !d.stuck && d.hold > 0 && !d.longDone && !now.Before(d.downAt.Add(d.hold)) {
		d.longDone = true
		kinds = append(kinds, LongPress)
	}
	if !d.pending && d.repeats() && !now.Before(d.repeatAt) {
		kinds = append(kinds, Press)
		// One press per due call: a late loop does not send a burst to catch up.
		d.repeatAt = d.repeatAt.Add(d.repeatEvery)
		if !d.repeatAt.After(now) {
			d.repeatAt = now.Add(d.repeatEvery)
		}
	}
	return kinds, ch
}

// repeats reports whether a repeat is scheduled: the button repeats and is held.
func (d *debouncer) repeats() bool {
	return d.repeatEvery > 0 && d.hold == 0 && d.pressed && !d.stuck
}
