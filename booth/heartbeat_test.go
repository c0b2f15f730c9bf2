package booth

import (
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
)

type healthFunc func() signalling.Heartbeat

func (f healthFunc) Health() signalling.Heartbeat { return f() }

var _ HealthSource = healthFunc(nil)

func (sb *fakeSwitchboard) heartbeatsSoFar() []signalling.Heartbeat {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return append([]signalling.Heartbeat(nil), sb.heartbeats...)
}

// waitHeartbeats waits until the fake switchboard has n heartbeats.
func (h *harness) waitHeartbeats(n int) []signalling.Heartbeat {
	h.t.Helper()
	for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
		if got := h.sb.heartbeatsSoFar(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("got %d heartbeats, want %d", len(h.sb.heartbeatsSoFar()), n)
		}
	}
}

// TestHeartbeatOnConnectAndEvery30s: the booth sends its health when the link comes up
// and then every 30 s by its clock, with the state it is in and a measured round trip.
func TestHeartbeatOnConnectAndEvery30s(t *testing.T) {
	checkGoroutines(t)
	temp := 55.0
	h := start(t, opts{health: healthFunc(func() signalling.Heartbeat {
		return signalling.Heartbeat{Version: "9.9.9", Camera: true, Speaker: true, TempCelsius: &temp}
	})})
	hbs := h.waitHeartbeats(1)
	if hb := hbs[0]; hb.Version != "9.9.9" || hb.State != signalling.StateIdle || !hb.Camera || hb.Microphone || *hb.TempCelsius != temp || hb.RTTMs == nil {
		t.Fatalf("first heartbeat: got %+v, want version 9.9.9, idle, camera, no microphone, 55 °C, a round trip", hb)
	}
	h.clock.Advance(signalling.HeartbeatInterval - time.Second)
	time.Sleep(50 * time.Millisecond)
	if got := len(h.sb.heartbeatsSoFar()); got != 1 {
		t.Fatalf("before 30 s: got %d heartbeats, want 1", got)
	}
	h.clock.Advance(time.Second)
	h.waitHeartbeats(2)
}

func TestBoothStateOfSnapshot(t *testing.T) {
	for _, tc := range []struct {
		s    Snapshot
		want signalling.BoothState
	}{
		{Snapshot{State: Idle}, signalling.StateIdle},
		{Snapshot{State: JoinWindow}, signalling.StateIdle},
		{Snapshot{State: Waiting}, signalling.StateWaiting},
		{Snapshot{State: InCall}, signalling.StateInCall},
		{Snapshot{State: Waiting, Help: true}, signalling.StateHelp},
	} {
		if got := tc.s.BoothState(); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.s, got, tc.want)
		}
	}
}
