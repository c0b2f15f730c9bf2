package light

import (
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	tests := []struct {
		name string
		st   Status
		want string // colour and rhythm
	}{
		{"idle", Status{State: Idle}, "white steady 20%"},
		{"join window", Status{State: JoinWindow}, "green slow_blink"},
		{"waiting", Status{State: Waiting}, "blue pulse"},
		{"in call", Status{State: InCall}, "blue steady"},
		{"in call, muted", Status{State: InCall, Muted: true}, "amber wink"},
		{"muted outside a call shows the state", Status{State: Waiting, Muted: true}, "blue pulse"},
		{"offline while idle", Status{State: Idle, Offline: true}, "amber double_flash"},
		{"offline in the window", Status{State: JoinWindow, Offline: true}, "amber double_flash"},
		{"offline in a muted call", Status{State: InCall, Muted: true, Offline: true}, "amber double_flash"},
		{"help", Status{State: Waiting, Help: true}, "white fast_blink"},
		{"help while offline", Status{State: Idle, Offline: true, Help: true}, "white fast_blink"},
		{"fault", Status{State: Idle, Fault: true}, "red steady"},
		{"fault beats everything", Status{State: InCall, Muted: true, Offline: true, Help: true, Fault: true}, "red steady"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := For(tt.st)
			if got := p.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if p.Meaning == "" {
				t.Error("got no meaning, want one for the screen and logs")
			}
		})
	}
}

// Every status a booth can be in shows a different colour-and-rhythm, and no two differ by
// colour alone: someone who cannot tell the colours apart can still tell the states.
func TestForDistinctWithoutColour(t *testing.T) {
	statuses := []Status{
		{State: Idle}, {State: JoinWindow}, {State: Waiting}, {State: InCall},
		{State: InCall, Muted: true}, {Offline: true}, {Help: true}, {Fault: true},
	}
	seen := map[Rhythm]Pattern{}
	for _, st := range statuses {
		p := For(st)
		if other, ok := seen[p.Rhythm]; ok {
			// Steady is shared by idle, in call and fault: they must differ in colour on the
			// axis colour-blind people see (blue against white or red) and idle is dim.
			if p.Rhythm != Steady {
				t.Errorf("%+v and another status both show rhythm %s (%s, %s)", st, p.Rhythm, p, other)
			}
			if p.Colour == other.Colour {
				t.Errorf("%+v shows %s like another status", st, p)
			}
			continue
		}
		seen[p.Rhythm] = p
	}
}

func TestRhythmsAreSafe(t *testing.T) {
	for r := Steady; r <= FastBlink; r++ {
		steps := r.Steps()
		var cycle time.Duration
		flashes := 0
		for _, s := range steps {
			cycle += s.For
			if s.On {
				flashes++
			}
		}
		if r == Steady {
			if len(steps) != 1 || !steps[0].On || cycle != 0 {
				t.Errorf("steady: got %v, want one lasting step", steps)
			}
			continue
		}
		// At most three flashes a second (WCAG 2.3.1); these stay at two or fewer.
		if perSecond := float64(flashes) / cycle.Seconds(); perSecond > 2 {
			t.Errorf("%s: got %.1f flashes a second, want at most 2", r, perSecond)
		}
		for _, s := range steps {
			if s.For < 100*time.Millisecond {
				t.Errorf("%s: got a %s step, want none shorter than 100ms", r, s.For)
			}
		}
	}
}

func TestLitAt(t *testing.T) {
	ms := time.Millisecond
	blink := Pattern{Colour: Green, Rhythm: SlowBlink, Brightness: 100}
	double := Pattern{Colour: Amber, Rhythm: DoubleFlash, Brightness: 100}
	tests := []struct {
		p    Pattern
		at   time.Duration
		want bool
	}{
		{blink, 0, true},
		{blink, 499 * ms, true},
		{blink, 500 * ms, false},
		{blink, 999 * ms, false},
		{blink, 1000 * ms, true},
		{blink, 10*time.Second + 700*ms, false},
		{double, 100 * ms, true},
		{double, 200 * ms, false},
		{double, 350 * ms, true},
		{double, 1900 * ms, false},
		{double, 2050 * ms, true},
		{Pattern{Colour: Blue, Rhythm: Steady, Brightness: 100}, time.Hour, true},
		{Pattern{}, 0, false},
		{Pattern{Colour: Blue, Rhythm: Steady}, 0, false}, // brightness 0
	}
	for _, tt := range tests {
		if got := tt.p.LitAt(tt.at); got != tt.want {
			t.Errorf("%s at %s: got lit %v, want %v", tt.p, tt.at, got, tt.want)
		}
	}
}
