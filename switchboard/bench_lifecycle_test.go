package switchboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

// BenchmarkHubAppliesQueuedEvents is a booth back from a long outage replaying 100,000
// outbox events over one connection, 32 in flight as boothd sends them; the switchboard
// applies each in its own fsync'd transaction (bbolt) or in memory, and acknowledges it.
// Run with -benchtime 1x; it prints events per second.
func BenchmarkHubAppliesQueuedEvents(b *testing.B) {
	const events = 100_000
	for _, kind := range []string{"bolt", "memory"} {
		b.Run(kind, func(b *testing.B) {
			for range b.N {
				var st store.Store = store.NewMemory()
				if kind == "bolt" {
					bs, err := store.OpenBolt(filepath.Join(b.TempDir(), "switchboard.db"))
					if err != nil {
						b.Fatal(err)
					}
					defer bs.Close()
					st = bs
				}
				rate := replayInto(b, st, events)
				b.ReportMetric(rate, "events/s")
				fmt.Printf("switchboard (%s store) applied %d queued booth events at %.0f events/s (%.1f s in all)\n", kind, events, rate, events/rate)
			}
		})
	}
}

func replayInto(b *testing.B, st store.Store, events int) float64 {
	b.Helper()
	t0 := time.Now()
	// The storage is measured, not the pacing: DefaultDeviceLimits would let one booth
	// send 50 events a second and keep 200 on one appointment.
	unpaced := Rate{PerSecond: 1e9, Burst: 1 << 20}
	limits := DeviceLimits{Rates: map[signalling.Type]Rate{signalling.TypeEvent: unpaced}, BoothEventsPerAppointment: events + 1}
	srv, err := New(Config{BcryptCost: bcrypt.MinCost, DeviceLimits: limits}, Deps{Store: st, Clock: clockwork.NewRealClock()})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer func() { srv.Close(); ts.Close() }()
	c := store.Clinic{Name: "Bench"}
	st.CreateClinic(&c)
	tok := newToken(deviceTokenPrefix)
	d := store.Device{Name: "booth", ClinicID: c.ID, Role: device.RoleBooth, TokenHash: hashToken(tok)}
	st.CreateDevice(&d)
	a := store.Appointment{ClinicID: c.ID, DeviceID: d.ID, Patient: "P", Start: t0, End: t0.Add(time.Hour), Status: appointment.Scheduled}
	st.CreateAppointment(&a)

	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: map[string][]string{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	conn := signalling.NewConn(ws)
	conn.Send(ctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice})
	for range 2 { // welcome, schedule
		if _, _, err := conn.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	// window_open, then arrive and leave in turn: every event legal, every one applied.
	event := func(i int) appointment.Event {
		switch {
		case i == 0:
			return appointment.OpenWindow
		case i%2 == 1:
			return appointment.Arrive
		}
		return appointment.Leave
	}
	acks := make(chan error, 64)
	go func() {
		for n := 0; n < events; n++ {
			typ, body, err := conn.Recv(ctx)
			if err == nil && typ.Type != signalling.TypeEventAck {
				if _, ok := body.(*signalling.Queue); ok {
					n--
					continue
				}
				err = fmt.Errorf("got %s %+v, want event_ack", typ.Type, body)
			}
			if err == nil && body.(*signalling.EventAck).Refused != "" {
				err = fmt.Errorf("refused: %+v", body)
			}
			acks <- err
			if err != nil {
				return
			}
		}
	}()
	start := time.Now()
	inflight := 0
	for i := 0; i < events; i++ {
		for inflight >= 32 {
			if err := <-acks; err != nil {
				b.Fatal(err)
			}
			inflight--
		}
		e := &signalling.Event{Key: fmt.Sprintf("bench-%d", i), AppointmentID: a.ID, Event: event(i), At: t0}
		if err := conn.Send(ctx, signalling.TypeEvent, e); err != nil {
			b.Fatal(err)
		}
		inflight++
	}
	for ; inflight > 0; inflight-- {
		if err := <-acks; err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	h, err := st.History(a.ID)
	if err != nil || len(h) != events {
		b.Fatalf("history: got %d records, %v, want %d", len(h), err, events)
	}
	return float64(events) / elapsed.Seconds()
}
