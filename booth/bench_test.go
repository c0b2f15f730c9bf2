package booth

import (
	"fmt"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
)

// BenchmarkOutbox measures the booth's durable outbox in bbolt: appends (each its own
// fsync'd transaction, as boothd records an event) and a replay (read in windows of 32,
// as the link sends them, and forgotten as acknowledgements come back in batches).
// It prints events per second.
func BenchmarkOutbox(b *testing.B) {
	const events = 2000
	for range b.N {
		s, err := OpenBoltStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		a := signalling.Appointment{ID: "a1", Start: t0, End: t0.Add(time.Hour), Status: "scheduled"}
		if err := s.ReplaceSchedule([]signalling.Appointment{a}); err != nil {
			b.Fatal(err)
		}
		next := map[appointment.Status]appointment.Event{
			appointment.Scheduled: appointment.OpenWindow, appointment.WindowOpen: appointment.Arrive, appointment.Waiting: appointment.Leave,
		}
		local := appointment.Scheduled
		start := time.Now()
		for range events {
			if _, err := s.Record("a1", next[local], t0); err != nil {
				b.Fatal(err)
			}
			local, _ = appointment.Next(local, next[local], appointment.ActorDevice)
		}
		appendRate := events / time.Since(start).Seconds()

		start = time.Now()
		var after uint64
		replayed := 0
		for {
			evs, err := s.Outbox(after, outboxWindow)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			keys := make([]string, len(evs))
			for i, e := range evs {
				keys[i] = e.Key
			}
			if err := s.Ack(map[string]appointment.Status{"a1": local}, keys...); err != nil {
				b.Fatal(err)
			}
			after = evs[len(evs)-1].Seq
			replayed += len(evs)
		}
		replayRate := float64(replayed) / time.Since(start).Seconds()
		s.Close()
		if replayed != events {
			b.Fatalf("replayed %d, want %d", replayed, events)
		}
		b.ReportMetric(appendRate, "appends/s")
		b.ReportMetric(replayRate, "replayed/s")
		fmt.Printf("booth outbox (bbolt): %d durable appends at %.0f/s (%.2f ms each); replay read+ack at %.0f events/s (%.1fx the append rate)\n",
			events, appendRate, 1000/appendRate, replayRate, replayRate/appendRate)
	}
}
