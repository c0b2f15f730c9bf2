package booth_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/jonboulle/clockwork"
)

// nopCaller stands in for booth/mediacall.Caller, which the end-to-end harness uses with a
// loopback call.Engine and capture's test sources.
type nopCaller struct{}

func (nopCaller) StartCall(context.Context, booth.CallParams) (booth.ActiveCall, error) {
	return nil, context.Canceled
}

// A booth in-process, as a test or the end-to-end harness builds it: a fake clock drives
// the schedule, a Sim presses the buttons, and the schedule lives in memory.
func ExampleNew() {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	sim := button.NewSim(clock)
	b, err := booth.New(booth.Config{
		SwitchboardURL: "http://127.0.0.1:8080", // httptest server URL of the switchboard
		Token:          "device token from POST /api/v1/devices",
		JoinMode:       booth.JoinButton,
		JoinWindow:     10 * time.Minute,
	}, booth.Deps{
		Caller:  nopCaller{}, // mediacall.New(engine, mediacall.Config{...}, clock, logger)
		Buttons: sim,
		Store:   booth.NewMemStore(),
		Clock:   clock,
		Logger:  slog.Default(),
	})
	if err != nil {
		return
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go b.Run(ctx) // Close waits for Run to return

	// Wait for the schedule's window, press Join, wait for the call.
	b.WaitFor(ctx, func(s booth.Snapshot) bool { return s.State == booth.JoinWindow })
	sim.Press(button.Join)
	b.WaitFor(ctx, func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
	if st, ok := b.CallStats(); ok {
		_ = st.FramesSent
	}
	sim.Press(button.End)
}
