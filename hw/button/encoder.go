package button

// quadrature decodes a rotary encoder's two lines (A and B, true: contact closed) into
// clicks. It is a pure state machine owned by GPIO.Run.
//
// The lines follow a Gray code, 00 -> 01 -> 11 -> 10 -> 00 one way round and the reverse
// the other, so only one line changes at a time. That is why no debounce interval is
// needed: a bouncing contact flips between two neighbouring states, counting +1 -1 +1,
// which nets out to the one real step. A jump of two states (both lines changed between
// two samples) has no direction and counts nothing. The count is settled at each detent
// (the rest state, where the encoder clicks): half a click or more in one direction is a
// click, so a missed step does not lose it and turning the knob a little and letting it
// fall back is nothing.
type quadrature struct {
	steps int   // Gray-code steps per click: 4 (rest at 00) or 2 (rest at 00 and 11)
	state uint8 // a<<1 | b
	count int
}

// grayNext is the state after s turning clockwise.
func grayNext(s uint8) uint8 {
	switch s {
	case 0b00:
		return 0b01
	case 0b01:
		return 0b11
	case 0b11:
		return 0b10
	}
	return 0b00
}

// sample feeds the lines' levels and returns +1 for a click clockwise, -1 anticlockwise,
// or 0.
func (q *quadrature) sample(a, b bool) int {
	var s uint8
	if a {
		s |= 0b10
	}
	if b {
		s |= 0b01
	}
	switch {
	case s == q.state:
	case s == grayNext(q.state):
		q.count++
	case q.state == grayNext(s):
		q.count--
	}
	q.state = s
	if s != 0b00 && !(q.steps == 2 && s == 0b11) {
		return 0
	}
	c := q.count
	q.count = 0
	switch {
	case 2*c >= q.steps:
		return 1
	case 2*c <= -q.steps:
		return -1
	}
	return 0
}
