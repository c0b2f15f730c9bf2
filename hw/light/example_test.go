package light_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/hw/light"
)

func ExampleFor() {
	for _, st := range []light.Status{
		{State: light.Idle},
		{State: light.JoinWindow},
		{State: light.Waiting},
		{State: light.InCall},
		{State: light.InCall, Muted: true},
		{State: light.Waiting, Offline: true},
	} {
		p := light.For(st)
		fmt.Printf("%-12s %-20s %s\n", st.State, p, p.Meaning)
	}
	// Output:
	// idle         white steady 20%     ready
	// join_window  green slow_blink     your appointment is ready: press the green Join button
	// waiting      blue pulse           waiting for the clinician to join you
	// in_call      blue steady          in your appointment
	// in_call      amber wink           in your appointment: your microphone is off
	// waiting      amber double_flash   reconnecting to the clinic
}

// The simulated light tells a screen what to draw: the pattern and when it started, and
// LitAt says whether the light is on at a moment.
func ExampleSim() {
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(start)
	sim := light.NewSim(clock, slog.New(slog.DiscardHandler))
	sim.Show(light.For(light.Status{State: light.JoinWindow}))

	clock.Advance(1200 * time.Millisecond)
	p, since := sim.Current()
	r, g, b := p.Colour.RGB()
	fmt.Printf("%s, rgb(%d,%d,%d), lit now: %v\n", p, r, g, b, p.LitAt(clock.Since(since)))
	clock.Advance(400 * time.Millisecond)
	fmt.Printf("lit 0.4 s later: %v\n", p.LitAt(clock.Since(since)))
	// Output:
	// green slow_blink, rgb(0,255,0), lit now: true
	// lit 0.4 s later: false
}
