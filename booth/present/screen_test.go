package present

import (
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/signalling"
)

func TestScreenView(t *testing.T) {
	loc := time.UTC
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, loc)
	appt := func(id string, start time.Time, done bool, status appointment.Status) booth.Appointment {
		return booth.Appointment{Appointment: signalling.Appointment{ID: id, ClinicName: "Clinic " + id,
			Start: start, End: start.Add(20 * time.Minute), Status: status}, Done: done}
	}
	appts := []booth.Appointment{
		appt("past", now.Add(-10*time.Minute), false, "scheduled"), // under way, its window open
		appt("done", now.Add(5*time.Minute), true, "scheduled"),
		appt("cancelled", now.Add(10*time.Minute), false, "cancelled"),
		appt("later", now.Add(3*time.Hour), false, "scheduled"),
		appt("next", now.Add(25*time.Minute), false, "scheduled"),
	}
	m := NewScreen(ScreenConfig{AutoJoin: true, Location: loc})
	for _, tc := range []struct {
		name   string
		snap   booth.Snapshot
		at     time.Duration // after now
		muted  bool
		kind   screen.Kind
		clinic string
		start  time.Time
		since  time.Time
	}{
		{name: "idle shows the next appointment", snap: booth.Snapshot{State: booth.Idle},
			kind: screen.Idle, clinic: "Clinic next", start: now.Add(25 * time.Minute)},
		{name: "offline and idle still shows it", snap: booth.Snapshot{State: booth.Idle, Offline: true},
			kind: screen.Idle, clinic: "Clinic next", start: now.Add(25 * time.Minute)},
		{name: "join window shows its appointment", snap: booth.Snapshot{State: booth.JoinWindow, AppointmentID: "past"},
			kind: screen.JoinWindow, clinic: "Clinic past", start: now.Add(-10 * time.Minute)},
		{name: "waiting counts from arrival", snap: booth.Snapshot{State: booth.Waiting, AppointmentID: "past"},
			kind: screen.Waiting, clinic: "Clinic past", start: now.Add(-10 * time.Minute), since: now},
		{name: "still waiting, same start", snap: booth.Snapshot{State: booth.Waiting, AppointmentID: "past"}, at: 3 * time.Minute,
			kind: screen.Waiting, clinic: "Clinic past", start: now.Add(-10 * time.Minute), since: now},
		{name: "offline while waiting", snap: booth.Snapshot{State: booth.Waiting, AppointmentID: "past", Offline: true}, at: 4 * time.Minute,
			kind: screen.Reconnecting, clinic: "Clinic past", start: now.Add(-10 * time.Minute), since: now},
		{name: "in call, muted", snap: booth.Snapshot{State: booth.InCall, AppointmentID: "past"}, at: 5 * time.Minute, muted: true,
			kind: screen.InCall, clinic: "Clinic past", start: now.Add(-10 * time.Minute)},
		{name: "back to waiting keeps counting", snap: booth.Snapshot{State: booth.Waiting, AppointmentID: "past"}, at: 6 * time.Minute,
			kind: screen.Waiting, clinic: "Clinic past", start: now.Add(-10 * time.Minute), since: now},
		{name: "idle again", snap: booth.Snapshot{State: booth.Idle}, at: 7 * time.Minute,
			kind: screen.Idle, clinic: "Clinic next", start: now.Add(25 * time.Minute)},
		{name: "help confirmed", snap: booth.Snapshot{State: booth.Idle, Help: true}, at: 7 * time.Minute,
			kind: screen.HelpRequested, clinic: "Clinic next", start: now.Add(25 * time.Minute)},
		{name: "waiting again starts afresh", snap: booth.Snapshot{State: booth.Waiting, AppointmentID: "next"}, at: 8 * time.Minute,
			kind: screen.Waiting, clinic: "Clinic next", start: now.Add(25 * time.Minute), since: now.Add(8 * time.Minute)},
	} {
		snap := tc.snap
		snap.Muted = tc.muted // the booth's own record of the microphone
		snap.VideoPaused = tc.kind == screen.InCall
		v := m.View(snap, appts, now.Add(tc.at))
		if v.VideoPaused != snap.VideoPaused {
			t.Errorf("%s: video paused %v on the screen, %v in the snapshot", tc.name, v.VideoPaused, snap.VideoPaused)
		}
		if v.Kind != tc.kind || v.ClinicName != tc.clinic || !v.Appointment.Equal(tc.start) ||
			!v.WaitingSince.Equal(tc.since) || v.Muted != tc.muted || !v.AutoJoin || v.Location != loc {
			t.Errorf("%s: got %v %q at %v waiting since %v muted %v, want %v %q at %v since %v muted %v",
				tc.name, v.Kind, v.ClinicName, v.Appointment, v.WaitingSince, v.Muted, tc.kind, tc.clinic, tc.start, tc.since, tc.muted)
		}
	}
	// A missing camera shows while idle or in a join window, never over a waiting patient.
	faulty := NewScreen(ScreenConfig{AutoJoin: true, Location: loc, Problem: screen.ProblemCamera})
	for _, tc := range []struct {
		state booth.State
		want  screen.Kind
	}{{booth.Idle, screen.Fault}, {booth.JoinWindow, screen.Fault}, {booth.Waiting, screen.Waiting}, {booth.InCall, screen.InCall}} {
		if v := faulty.View(booth.Snapshot{State: tc.state, AppointmentID: "past"}, appts, now); v.Kind != tc.want || (tc.want == screen.Fault && v.Problem != screen.ProblemCamera) {
			t.Errorf("camera missing, %v: got %v %q, want %v", tc.state, v.Kind, v.Problem, tc.want)
		}
	}
	if v := m.View(booth.Snapshot{}, nil, now); v.Kind != screen.Idle || !v.Appointment.IsZero() {
		t.Errorf("no appointments: got %v at %v, want idle with none", v.Kind, v.Appointment)
	}
	// The booth's own choice of next appointment, its join mode in force, Join too early.
	opens := now.Add(2*time.Hour + 50*time.Minute)
	v := m.View(booth.Snapshot{State: booth.Idle, NextAppointmentID: "later", NextWindowAt: opens, TooEarly: true,
		JoinMode: device.JoinButton}, appts, now)
	if v.Kind != screen.Idle || v.ClinicName != "Clinic later" || !v.TooEarly || !v.JoinOpens.Equal(opens) || v.AutoJoin {
		t.Errorf("too early: got %+v, want idle for Clinic later, too early, opening at %v, button mode", v, opens)
	}
	// The clinic-room appliance shows its waiting room; in a call, the call.
	q := &signalling.Queue{Entries: []signalling.QueueEntry{{Patient: "Mr Tom Jones", Since: now.Add(-7 * time.Minute)},
		{Patient: "Ms Li Wei", Since: now, InCall: true}}}
	v = m.View(booth.Snapshot{State: booth.Idle, Role: device.RoleClinic, Queue: q}, nil, now)
	wantQ := []screen.Waiter{{Name: "Mr Tom Jones", Since: now.Add(-7 * time.Minute)}, {Name: "Ms Li Wei", Since: now, InCall: true}}
	if v.Kind != screen.WaitingRoom || len(v.Queue) != 2 || v.Queue[0] != wantQ[0] || v.Queue[1] != wantQ[1] {
		t.Errorf("clinic room: got %v %+v, want the waiting room %+v", v.Kind, v.Queue, wantQ)
	}
	if v = m.View(booth.Snapshot{State: booth.InCall, Role: device.RoleClinic, Queue: q}, nil, now); v.Kind != screen.InCall {
		t.Errorf("clinic room in a call: got %v, want in-call", v.Kind)
	}
	if v = m.View(booth.Snapshot{State: booth.Idle, Role: device.RoleClinic, Offline: true}, nil, now); v.Kind != screen.Reconnecting {
		t.Errorf("clinic room offline: got %v, want reconnecting", v.Kind)
	}
}

// TestFaultScreenHasThePhoneNumber: the fault screen names the clinic's phone number:
// the appointment's clinic's, or with no appointment the booth's own clinic's.
func TestFaultScreenHasThePhoneNumber(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	appts := []booth.Appointment{{Appointment: signalling.Appointment{ID: "a", ClinicName: "Eye clinic",
		ClinicPhone: "01632 960 999", Start: now.Add(time.Hour), End: now.Add(80 * time.Minute), Status: "scheduled"}}}
	m := NewScreen(ScreenConfig{Problem: screen.ProblemCamera, Location: time.UTC})
	snap := booth.Snapshot{State: booth.Idle, ClinicPhone: "01632 960 123"}
	if v := m.View(snap, appts, now); v.Kind != screen.Fault || v.ClinicPhone != "01632 960 999" {
		t.Errorf("with an appointment: got %v, phone %q, want fault with the appointment's clinic's 01632 960 999", v.Kind, v.ClinicPhone)
	}
	if v := m.View(snap, nil, now); v.ClinicPhone != "01632 960 123" {
		t.Errorf("with no appointment: got phone %q, want the booth's clinic's 01632 960 123", v.ClinicPhone)
	}
}

// TestHeldEndShowsTheJoinButton: once End was held in an auto-join window, the screen no
// longer says the booth will join by itself; it asks for the green button.
func TestHeldEndShowsTheJoinButton(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	appts := []booth.Appointment{{Appointment: signalling.Appointment{ID: "a", ClinicName: "Eye clinic",
		Start: now.Add(5 * time.Minute), End: now.Add(25 * time.Minute), Status: "scheduled"}}}
	m := NewScreen(ScreenConfig{AutoJoin: true, Location: time.UTC})
	snap := booth.Snapshot{State: booth.JoinWindow, AppointmentID: "a", JoinMode: device.JoinAuto}
	if v := m.View(snap, appts, now); !v.AutoJoin {
		t.Fatal("auto-join window: got AutoJoin false, want true")
	}
	snap.AutoJoinCancelled = true
	if v := m.View(snap, appts, now); v.AutoJoin || v.Kind != screen.JoinWindow {
		t.Errorf("after End was held: got %v AutoJoin %v, want the join window asking for the button", v.Kind, v.AutoJoin)
	}
}

// TestRevokedScreenOverEverything: a revoked booth shows that it is switched off whatever
// it was doing, and its light shows a fault.
func TestRevokedScreenOverEverything(t *testing.T) {
	m := NewScreen(ScreenConfig{Problem: screen.ProblemCamera, Location: time.UTC})
	for _, s := range []booth.Snapshot{
		{State: booth.Idle, Revoked: true, Offline: true},
		{State: booth.Waiting, Revoked: true, Offline: true, Help: true},
		{State: booth.JoinWindow, Revoked: true, Offline: true, Role: device.RoleClinic},
	} {
		if got := m.View(s, nil, time.Now()).Kind; got != screen.Revoked {
			t.Errorf("%+v: got screen %s, want %s", s, got, screen.Revoked)
		}
		if !Light(s, false).Fault {
			t.Errorf("%+v: got no fault on the light, want one", s)
		}
	}
}
