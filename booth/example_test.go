package booth_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
)

// nopCaller stands in for booth/mediacall.Caller, which the end-to-end harness uses with a
// loopback call.Engine and capture's test sources.
type nopCaller struct{}

func (nopCaller) StartCall(context.Context, booth.CallParams) (booth.ActiveCall, error) {
	return nil, context.Canceled
}

// A booth in-process, as a test or the end-to-end harness builds it: a fake clock drives
// the schedule, a Sim presses the buttons, and the schedule lives in memory. Here the
// switchboard is unreachable, so the booth works from the schedule it kept, as it does
// after a restart during an outage; with one (an httptest server's URL) it would also
// join the waiting room and the call.
func ExampleNew() {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	sim := button.NewSim(clock)
	store := booth.NewMemStore()
	store.ReplaceSchedule([]signalling.Appointment{{ // kept from the switchboard's last schedule
		ID: "a1", ClinicName: "Eye clinic", Patient: "A. Patient", Status: "scheduled",
		Start: clock.Now().Add(5 * time.Minute), End: clock.Now().Add(25 * time.Minute),
	}})
	b, err := booth.New(booth.Config{
		SwitchboardURL: "http://127.0.0.1:1", // nothing listens: offline
		Token:          "device token from POST /api/v1/devices",
		JoinMode:       device.JoinButton,
		JoinWindow:     10 * time.Minute,
	}, booth.Deps{
		Caller:  nopCaller{}, // mediacall.New(engine, mediacall.Config{...}, clock, logger)
		Buttons: sim,
		Store:   store,
		Clock:   clock,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go b.Run(ctx) // Close waits for Run to return

	// The appointment starts in 5 minutes: its join window is open.
	s, err := b.WaitFor(ctx, func(s booth.Snapshot) bool { return s.State == booth.JoinWindow && s.Offline })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.State, "offline:", s.Offline)
	// Join is pressed; with a switchboard the booth would then wait to be admitted.
	sim.Press(button.Join)
	s, err = b.WaitFor(ctx, func(s booth.Snapshot) bool { return s.State != booth.JoinWindow })
	if err != nil {
		fmt.Println(err)
		return
	}
	// The arrival is kept in the outbox until the switchboard acknowledges it.
	fmt.Println(s.State, "events to deliver:", s.Outbox)
	// Output:
	// join_window offline: true
	// waiting events to deliver: 2
}
