package booth

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
)

// A patient who presses Join before the window is told when it opens.
func TestJoinBeforeWindowShowsWhenItOpens(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{mode: device.JoinButton, appts: []signalling.Appointment{appt("a1", t0.Add(30*time.Minute))}})
	h.sb.conn(t)
	s := h.waitFor("the next window", func(s Snapshot) bool { return s.NextAppointmentID == "a1" })
	if want := t0.Add(20 * time.Minute); s.State != Idle || !s.NextWindowAt.Equal(want) || s.TooEarly {
		t.Fatalf("got %+v, want idle with the window opening at %v", s, want)
	}
	h.press(button.Join)
	h.waitFor("too early", func(s Snapshot) bool { return s.TooEarly && s.State == Idle })
	h.blockUntil(1)
	h.clock.Advance(20 * time.Minute)
	s = h.waitState(JoinWindow)
	if s.TooEarly || s.NextAppointmentID != "" || s.AppointmentID != "a1" {
		t.Errorf("at the window: got %+v, want the hint gone and a1 joinable", s)
	}
}

// While the switchboard cannot be reached the booth still opens the window and records
// what the patient does; when it comes back every event goes, in order, once.
func TestOfflineEventsReplayInOrder(t *testing.T) {
	checkGoroutines(t)
	st := NewMemStore()
	a := appt("a1", t0.Add(5*time.Minute))
	a.Status = "scheduled"
	st.ReplaceSchedule([]signalling.Appointment{a})
	h := start(t, opts{mode: device.JoinButton, store: st, down: true, appts: []signalling.Appointment{a}})
	h.waitFor("the window, offline", func(s Snapshot) bool { return s.State == JoinWindow && s.Offline && s.Outbox == 1 })
	h.press(button.Join)
	h.waitFor("waiting, offline", func(s Snapshot) bool { return s.State == Waiting && s.Outbox == 2 })
	h.press(button.End)
	h.waitFor("left", func(s Snapshot) bool { return s.State == JoinWindow && s.Outbox == 3 })
	h.press(button.Join)
	h.waitFor("waiting again", func(s Snapshot) bool { return s.State == Waiting && s.Outbox == 4 })
	if got := h.sb.recorded(); len(got) != 0 {
		t.Fatalf("the fake got %v while down", got)
	}
	if got := value(t, h.booth.metrics.outbox); got != 4 {
		t.Errorf("carebooth_booth_outbox_events: got %v, want 4", got)
	}

	h.sb.down.Store(false)
	var sc *sbConn
	deadline := time.Now().Add(wait)
	for sc == nil { // step the fake clock until the link's backoff has let it redial
		h.clock.Advance(time.Second)
		select {
		case sc = <-h.sb.conns:
		case <-time.After(50 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("the booth did not reconnect")
			}
		}
	}
	for _, typ := range []signalling.Type{signalling.TypeArrive, signalling.TypeLeave, signalling.TypeArrive} {
		sc.next(t, typ) // the replayed events
	}
	sc.next(t, signalling.TypeArrive) // then, delivered, "still here"
	h.waitFor("outbox delivered", func(s Snapshot) bool { return !s.Offline && s.Outbox == 0 && s.State == Waiting })
	want := []string{"a1:window_open", "a1:arrive", "a1:leave", "a1:arrive"}
	if got := h.sb.recorded(); !slices.Equal(got, want) {
		t.Errorf("switchboard got %v, want %v", got, want)
	}
	if got := value(t, h.booth.metrics.outbox); got != 0 {
		t.Errorf("carebooth_booth_outbox_events after delivery: got %v, want 0", got)
	}
	if evs, _ := st.Outbox(0, 0); len(evs) != 0 {
		t.Errorf("outbox after the acks: got %+v, want empty", evs)
	}
}

// An admin switches the booth to button mode from the switchboard; it is kept and
// acknowledged, and the booth no longer joins by itself.
func TestPushedSettingsChangeJoinMode(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{mode: device.JoinAuto, appts: []signalling.Appointment{appt("a1", t0.Add(5*time.Minute))}})
	sc := h.sb.conn(t)
	sc.send(t, signalling.TypeSettings, &signalling.Settings{Seq: 4, JoinMode: device.JoinButton})
	if ack := sc.next(t, signalling.TypeSettingsAck).(*signalling.SettingsAck); ack.Seq != 4 {
		t.Fatalf("ack: got %+v, want seq 4", ack)
	}
	h.waitFor("button mode", func(s Snapshot) bool { return s.JoinMode == device.JoinButton })
	if set, _ := h.store.Settings(); set.Seq != 4 || set.JoinMode != device.JoinButton {
		t.Errorf("stored: got %+v", set)
	}
	// A re-delivered older push is acknowledged again but changes nothing.
	sc.send(t, signalling.TypeSettings, &signalling.Settings{Seq: 3, JoinMode: device.JoinAuto})
	sc.next(t, signalling.TypeSettingsAck)
	h.blockUntil(1)
	h.clock.Advance(6 * time.Minute) // past the start time
	h.waitState(JoinWindow)
	sc.none(t)
	if s := h.booth.Snapshot(); s.JoinMode != device.JoinButton || s.State != JoinWindow {
		t.Errorf("got %+v, want button mode, not joined", s)
	}
}

// The clinic-room appliance: Next admits the patient who has waited longest (not one in
// a call), the appliance offers, End ends the call.
func TestClinicRoleNextAdmitsLongestWaiting(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{role: device.RoleClinic})
	sc := h.sb.conn(t)
	h.press(button.Join) // nothing known yet
	sc.send(t, signalling.TypeQueue, &signalling.Queue{ClinicID: "clinic-1", Entries: []signalling.QueueEntry{
		{AppointmentID: "a0", Patient: "In Call", Since: t0.Add(-20 * time.Minute), InCall: true},
		{AppointmentID: "a1", Patient: "Longest", Since: t0.Add(-10 * time.Minute)},
		{AppointmentID: "a2", Patient: "Later", Since: t0.Add(-time.Minute)},
	}})
	h.waitFor("the waiting room", func(s Snapshot) bool { return s.Queue != nil && len(s.Queue.Entries) == 3 })
	h.press(button.Join)
	if got := sc.next(t, signalling.TypeAdmit).(*signalling.Admit); got.AppointmentID != "a1" {
		t.Fatalf("admit: got %s, want a1 (waited longest, not in a call)", got.AppointmentID)
	}
	sc.send(t, signalling.TypeCall, &signalling.Call{CallID: "call-1", AppointmentID: "a1", Role: signalling.CallOfferer, Peer: "Longest"})
	call := h.caller.call(t)
	if call.params.Role != signalling.CallOfferer {
		t.Errorf("call role: got %q, want offerer", call.params.Role)
	}
	if got := sc.next(t, signalling.TypeOffer).(*signalling.SDP); got.CallID != "call-1" {
		t.Errorf("offer: got %+v", got)
	}
	sc.send(t, signalling.TypeAnswer, &signalling.SDP{CallID: "call-1", SDP: "v=0\r\nanswer"})
	h.waitState(InCall)
	deadline := time.Now().Add(wait)
	for {
		call.mu.Lock()
		answer := call.offer
		call.mu.Unlock()
		if answer == "v=0\r\nanswer" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("answer applied: got %q", answer)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.press(button.End)
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.Reason != signalling.EndHangup {
		t.Errorf("end: got %+v", got)
	}
	s := h.waitState(Idle)
	if s.Ignored != 1 || !call.isClosed() {
		t.Errorf("got %+v (closed %v), want the first Next ignored and the call closed", s, call.isClosed())
	}
}

func TestBoothRefusesOffererCall(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc := h.sb.conn(t)
	sc.next(t, signalling.TypeArrive)
	sc.send(t, signalling.TypeCall, &signalling.Call{CallID: "call-1", AppointmentID: "a1", Role: signalling.CallOfferer})
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.Reason != signalling.EndFailed {
		t.Errorf("got %+v, want end failed", got)
	}
}

// The clinic-room appliance takes only the offering side; a call on the other is refused
// and no media starts.
func TestClinicRoleRefusesAnswererCall(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{role: device.RoleClinic})
	sc := h.sb.conn(t)
	sc.send(t, signalling.TypeCall, &signalling.Call{CallID: "call-1", AppointmentID: "a1", Role: signalling.CallAnswerer})
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.CallID != "call-1" || got.Reason != signalling.EndFailed {
		t.Errorf("got %+v, want end failed for call-1", got)
	}
	select {
	case c := <-h.caller.started:
		t.Errorf("media started for a refused call: %+v", c.params)
	default:
	}
	if s := h.booth.Snapshot(); s.State == InCall {
		t.Errorf("state: got %s, want not in a call", s.State)
	}
}

// fakeRemote is a RemoteConfig of function fields.
type fakeRemote struct {
	mu       sync.Mutex
	reports  []*signalling.ConfigAck
	reported []*signalling.ConfigAck
	offer    func(*signalling.Config) *signalling.ConfigAck
}

func (f *fakeRemote) Connected() []*signalling.ConfigAck {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reports
}

func (f *fakeRemote) Reported(a *signalling.ConfigAck) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reported = append(f.reported, a)
}

func (f *fakeRemote) Offer(m *signalling.Config) *signalling.ConfigAck { return f.offer(m) }

// The booth carries remote config both ways: reports on connecting, a pushed document to
// the controller and its answer back.
func TestRemoteConfigMessages(t *testing.T) {
	checkGoroutines(t)
	rollback := &signalling.ConfigAck{Seq: 9, Version: 4, Result: signalling.ConfigRolledBack, Reason: "could not reach the switchboard"}
	var offered []uint64
	fr := &fakeRemote{reports: []*signalling.ConfigAck{rollback}, offer: func(m *signalling.Config) *signalling.ConfigAck {
		offered = append(offered, m.Version)
		return &signalling.ConfigAck{Seq: m.Seq, Version: m.Version, Result: signalling.ConfigRefused, Reason: "buttons.join is required"}
	}}
	h := start(t, opts{remote: fr})
	sc := h.sb.conn(t)
	if got := sc.next(t, signalling.TypeConfigAck).(*signalling.ConfigAck); *got != *rollback {
		t.Fatalf("on connect: got %+v, want %+v", got, rollback)
	}
	sc.send(t, signalling.TypeConfig, &signalling.Config{Seq: 11, Version: 5, Document: "[device]\njoin_mode = \"button\"\n"})
	got := sc.next(t, signalling.TypeConfigAck).(*signalling.ConfigAck)
	if got.Seq != 11 || got.Result != signalling.ConfigRefused || got.Reason != "buttons.join is required" {
		t.Fatalf("ack: got %+v, want refused with the reason", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.booth.Ping(ctx); err != nil { // the loop has handled both
		t.Fatal(err)
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if len(fr.reported) != 1 || len(offered) != 1 || offered[0] != 5 {
		t.Errorf("got reported %v offered %v, want the rollback reported and version 5 offered", fr.reported, offered)
	}
}

// TestRediscoversAMovedSwitchboard: the address the booth has for the switchboard is dead
// (it moved to another on the LAN); after the failed dial the booth asks again where it is
// and connects there at once, without waiting out its backoff.
func TestRediscoversAMovedSwitchboard(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{moved: true, appts: []signalling.Appointment{appt("a1", t0.Add(time.Hour))}})
	h.sb.conn(t)
	h.waitFor("online at the new address", func(s Snapshot) bool { return !s.Offline })
}
