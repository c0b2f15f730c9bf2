package light_test

import (
	"fmt"

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
