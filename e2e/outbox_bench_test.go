package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/jonboulle/clockwork"
)

// BenchmarkOutboxReplay is a booth coming back after a long outage with 5,000 recorded
// events in its bbolt outbox: the time until the switchboard (bbolt too) has applied and
// acknowledged every one, end to end over the signalling link. Prints events per second.
func BenchmarkOutboxReplay(b *testing.B) {
	const events = 5000
	for range b.N {
		// The replay's speed is measured, not the pacing (50 events a second per device)
		// nor the cap of 200 events an appointment keeps from its booth.
		e := startSwitchboardWith(b, switchboard.Config{DeviceLimits: switchboard.DeviceLimits{
			Rates:                     map[signalling.Type]switchboard.Rate{signalling.TypeEvent: {PerSecond: 1e9, Burst: 1 << 20}},
			BoothEventsPerAppointment: events + 1,
		}})
		st, err := booth.OpenBoltStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		a, err := e.Store.Appointment(e.Demo.AppointmentID)
		if err != nil {
			b.Fatal(err)
		}
		st.ReplaceSchedule([]signalling.Appointment{{ID: a.ID, ClinicID: a.ClinicID, DeviceID: a.DeviceID, Patient: a.Patient, Start: a.Start, End: a.End, Status: a.Status}})
		ev := []appointment.Event{appointment.Arrive, appointment.Leave}
		if _, err := st.Record(a.ID, appointment.OpenWindow, time.Now()); err != nil {
			b.Fatal(err)
		}
		for i := 1; i < events; i++ {
			if _, err := st.Record(a.ID, ev[(i-1)%2], time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		rb := e.startBoothWithStore(b, clockwork.NewFakeClockAt(a.Start.Add(-5*time.Minute)), device.JoinButton, small, st)
		rb.waitFor(b, "the outbox delivered", func(s booth.Snapshot) bool { return !s.Offline && s.Outbox == 0 })
		elapsed := time.Since(start)
		rb.stop()
		st.Close()
		h, err := e.Store.History(a.ID)
		if err != nil {
			b.Fatal(err)
		}
		keyed := 0
		for _, r := range h {
			if r.Key != "" && r.Refused == "" {
				keyed++
			}
		}
		if keyed != events { // the booth's own; the system's device_lost at its stop is not counted
			b.Fatalf("switchboard history: got %d applied booth events, want %d", keyed, events)
		}
		rate := events / elapsed.Seconds()
		b.ReportMetric(rate, "events/s")
		fmt.Printf("outbox replay, booth to switchboard (both bbolt): %d events in %.1f s, %.0f events/s\n", events, elapsed.Seconds(), rate)
	}
}
