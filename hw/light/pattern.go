package light

import (
	"fmt"
	"time"
)

// State is what the booth is doing, as far as the light is concerned. It mirrors the
// booth's states without importing package booth: data flows from the booth to the light,
// and cmd/boothd maps one to the other.
type State int

// The booth's states.
const (
	Idle       State = iota // no appointment window is open
	JoinWindow              // an appointment can be joined now: press Join
	Waiting                 // in the waiting room until the clinician admits the patient
	InCall                  // in the consultation
)

func (s State) String() string {
	switch s {
	case Idle:
		return "idle"
	case JoinWindow:
		return "join_window"
	case Waiting:
		return "waiting"
	case InCall:
		return "in_call"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Status is everything the light shows.
type Status struct {
	State   State
	Muted   bool // the microphone is muted (shown in a call only)
	Offline bool // the link to the switchboard is down: reconnecting
	Help    bool // the patient asked for help
	Fault   bool // the booth cannot work (camera gone, configuration, storage)
}

// Colour is one of the light's colours.
type Colour int

// The colours. Hues are chosen from those people with the common colour-vision
// deficiencies can tell apart (blue against amber, white, red against blue), and no two
// states differ by colour alone: each also has its own rhythm.
const (
	Off Colour = iota
	White
	Green
	Blue
	Amber
	Red
)

func (c Colour) String() string {
	switch c {
	case Off:
		return "off"
	case White:
		return "white"
	case Green:
		return "green"
	case Blue:
		return "blue"
	case Amber:
		return "amber"
	case Red:
		return "red"
	}
	return fmt.Sprintf("colour(%d)", int(c))
}

// RGB returns the colour's red, green and blue intensities (0 to 255) on an RGB LED.
// Amber is red with a little green: LEDs' green is far brighter than their red.
func (c Colour) RGB() (r, g, b uint8) {
	switch c {
	case White:
		return 255, 255, 255
	case Green:
		return 0, 255, 0
	case Blue:
		return 0, 0, 255
	case Amber:
		return 255, 80, 0
	case Red:
		return 255, 0, 0
	}
	return 0, 0, 0
}

// Rhythm is how the light changes over time.
type Rhythm int

// The rhythms, from calm to insistent. None flashes more than twice a second, well under
// the three flashes a second that photosensitive-epilepsy guidance (WCAG 2.3.1, Ofcom)
// puts as the limit.
const (
	Steady      Rhythm = iota // on
	SlowBlink                 // 0.5 s on, 0.5 s off: do something now
	Pulse                     // a 0.3 s flash every 2 s: something is under way, wait
	Wink                      // on, with a 0.2 s wink off every 2 s: on, but note this
	DoubleFlash               // two 0.15 s flashes every 2 s: trouble, being dealt with
	FastBlink                 // 0.25 s on, 0.25 s off: look here
)

func (r Rhythm) String() string {
	switch r {
	case Steady:
		return "steady"
	case SlowBlink:
		return "slow_blink"
	case Pulse:
		return "pulse"
	case Wink:
		return "wink"
	case DoubleFlash:
		return "double_flash"
	case FastBlink:
		return "fast_blink"
	}
	return fmt.Sprintf("rhythm(%d)", int(r))
}

// Step is one part of a rhythm's cycle.
type Step struct {
	On  bool
	For time.Duration
}

// Steps returns one cycle of the rhythm. Steady is one step that lasts for ever (For 0).
func (r Rhythm) Steps() []Step {
	ms := time.Millisecond
	switch r {
	case SlowBlink:
		return []Step{{true, 500 * ms}, {false, 500 * ms}}
	case Pulse:
		return []Step{{true, 300 * ms}, {false, 1700 * ms}}
	case Wink:
		return []Step{{true, 1800 * ms}, {false, 200 * ms}}
	case DoubleFlash:
		return []Step{{true, 150 * ms}, {false, 150 * ms}, {true, 150 * ms}, {false, 1550 * ms}}
	case FastBlink:
		return []Step{{true, 250 * ms}, {false, 250 * ms}}
	}
	return []Step{{true, 0}}
}

// Pattern is what the light does: a colour, a rhythm and a brightness. Patterns are
// comparable; the zero Pattern is dark.
type Pattern struct {
	Colour     Colour
	Rhythm     Rhythm
	Brightness uint8 // percent, 1 to 100 where the light can dim; on/off lights ignore it
	// Meaning is what the pattern tells the person at the booth, for logs and the screen.
	Meaning string
}

func (p Pattern) String() string {
	if p.Colour == Off {
		return "off"
	}
	s := p.Colour.String() + " " + p.Rhythm.String()
	if p.Brightness < 100 {
		s += fmt.Sprintf(" %d%%", p.Brightness)
	}
	return s
}

// LitAt reports whether the pattern's light is on at elapsed time since it started, for a
// screen drawing the light.
func (p Pattern) LitAt(elapsed time.Duration) bool {
	if p.Colour == Off || p.Brightness == 0 {
		return false
	}
	steps := p.Rhythm.Steps()
	var cycle time.Duration
	for _, s := range steps {
		cycle += s.For
	}
	if cycle == 0 {
		return steps[0].On
	}
	elapsed %= cycle
	if elapsed < 0 {
		elapsed += cycle
	}
	for _, s := range steps {
		if elapsed < s.For {
			return s.On
		}
		elapsed -= s.For
	}
	return steps[len(steps)-1].On
}

// For returns the pattern that shows st. The first that applies wins:
//
//	fault          red    steady       out of order: staff, see the log
//	help           white  fast blink   help requested: someone is coming
//	offline        amber  double flash reconnecting to the clinic
//	in call, muted amber  wink         in the call, your microphone is off
//	in call        blue   steady       in the call
//	waiting        blue   pulse        in the waiting room: the clinician will join you
//	join window    green  slow blink   your appointment is ready: press the green Join button
//	idle           white  steady, dim  ready, nothing to do
//
// docs/device-io.md explains the choices.
func For(st Status) Pattern {
	switch {
	case st.Fault:
		return Pattern{Red, Steady, 100, "out of order: please tell a member of staff"}
	case st.Help:
		return Pattern{White, FastBlink, 100, "help requested: someone is coming"}
	case st.Offline:
		return Pattern{Amber, DoubleFlash, 100, "reconnecting to the clinic"}
	case st.State == InCall && st.Muted:
		return Pattern{Amber, Wink, 100, "in your appointment: your microphone is off"}
	case st.State == InCall:
		return Pattern{Blue, Steady, 100, "in your appointment"}
	case st.State == Waiting:
		return Pattern{Blue, Pulse, 100, "waiting for the clinician to join you"}
	case st.State == JoinWindow:
		return Pattern{Green, SlowBlink, 100, "your appointment is ready: press the green Join button"}
	}
	return Pattern{White, Steady, 20, "ready"}
}
