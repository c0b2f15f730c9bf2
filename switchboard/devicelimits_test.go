package switchboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/store"
)

// fastDevices lets a test flood without advancing its fake clock.
func fastDevices(perAppointment, refused int) func(*Config) {
	return func(c *Config) {
		fast := Rate{PerSecond: 1e6, Burst: 1 << 20}
		c.DeviceLimits = DeviceLimits{
			Rates: map[signalling.Type]Rate{signalling.TypeEvent: fast, signalling.TypeHelp: fast,
				signalling.TypeQuality: fast, signalling.TypeArrive: fast},
			Other: fast, BoothEventsPerAppointment: perAppointment, RefusedEventsPerAppointment: refused,
		}
	}
}

// A booth replaying the same illegal event, or a stream of legal ones, keeps at most the
// caps in the appointment's history; what is over them is acknowledged, not stored.
func TestHubKeepsBoundedBoothEvents(t *testing.T) {
	e := newEnvWith(t, fastDevices(8, 3))
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	if ack := sendEvent(booth, "w", e.appt.ID, appointment.OpenWindow, t0); ack.Refused != "" {
		t.Fatalf("window_open: got %+v", ack)
	}
	for i := range 50 {
		ack := sendEvent(booth, fmt.Sprintf("again-%d", i), e.appt.ID, appointment.OpenWindow, t0)
		if ack.Refused == "" || ack.Status != appointment.WindowOpen {
			t.Fatalf("window_open again (%d): got %+v, want refused", i, ack)
		}
		if i >= 3 && !strings.Contains(ack.Refused, "already holds 3 refused events") {
			t.Fatalf("window_open again (%d): got %q, want the cap named", i, ack.Refused)
		}
	}
	want := "window_open:scheduled>window_open" + strings.Repeat(" window_open:window_open>window_open!", 3)
	if got := e.history(e.appt.ID); got != want {
		t.Errorf("history after the flood: got %s, want %s", got, want)
	}
	// A legal event is still kept after the refused cap is reached...
	evs := []appointment.Event{appointment.Arrive, appointment.Leave}
	for i := range 4 {
		if ack := sendEvent(booth, fmt.Sprintf("l-%d", i), e.appt.ID, evs[i%2], t0); ack.Refused != "" {
			t.Fatalf("%s (%d) under the cap: got %+v", evs[i%2], i, ack)
		}
	}
	// ...until the appointment holds 8 of the booth's events in all.
	ack := sendEvent(booth, "over", e.appt.ID, appointment.Arrive, t0)
	if !strings.Contains(ack.Refused, "already holds 8 events from its booth") {
		t.Errorf("event over the cap: got %+v, want refused naming the cap", ack)
	}
	a, err := e.st.Appointment(e.appt.ID)
	must(t, err)
	h, err := e.st.History(e.appt.ID)
	must(t, err)
	if len(h) != 8 || a.BoothEvents != 8 || a.RefusedEvents != 3 || a.Status != appointment.WindowOpen {
		t.Errorf("kept: got %d records, counts %d/%d, status %s; want 8, 8/3, window_open", len(h), a.BoothEvents, a.RefusedEvents, a.Status)
	}
	if got := counterValue(t, e.reg, "carebooth_switchboard_device_events_total", "refused"); got != 51 {
		t.Errorf("device_events_total{result=refused}: got %v, want 51", got)
	}
}

// Arriving, live or replayed, is for the join window only: a booth with a wrong clock or
// a forged event cannot queue a patient hours early.
func TestHubArrivalOnlyInTheJoinWindow(t *testing.T) {
	e := newEnv(t)
	later := e.addAppointment(e.booth, "Jo Bloggs", t0.Add(3*time.Hour))
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: later.ID})
	m := expect[signalling.Error](booth, signalling.TypeError)
	if m.Code != signalling.CodeConflict || !strings.Contains(m.Message, "2026-11-21 10:00") {
		t.Errorf("arrive 3 h early: got %s %q, want conflict naming the window's opening (10:00 UTC)", m.Code, m.Message)
	}
	for _, ev := range []appointment.Event{appointment.OpenWindow, appointment.Arrive} {
		ack := sendEvent(booth, "early-"+string(ev), later.ID, ev, t0)
		if ack.Refused == "" || ack.Status != appointment.Scheduled {
			t.Errorf("replayed %s 3 h early: got %+v, want refused, still scheduled", ev, ack)
		}
	}
	if got := e.history(later.ID); got != "" {
		t.Errorf("history: got %q, want nothing kept", got)
	}
	// After the appointment's end, too.
	e.clock.Advance(4 * time.Hour)
	// The hourly refresh first: sent from its timer, it could otherwise come before or
	// after the ack (CI saw both).
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
	booth.send(signalling.TypeEvent, &signalling.Event{Key: "late", AppointmentID: later.ID, Event: appointment.OpenWindow, At: e.clock.Now()})
	if ack := expect[signalling.EventAck](booth, signalling.TypeEventAck); ack.Refused == "" {
		t.Errorf("window_open after the end: got %+v, want refused", ack)
	}
}

// A booth pressing Help over and over reaches each clinician once, and a clinician who is
// not reading meanwhile is never disconnected for it: help is a standing state, newest
// wins.
func TestHubHelpFloodNeverSilencesTheClinic(t *testing.T) {
	e := newEnvWith(t, fastDevices(0, 0))
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	// The booth sends in bursts of 32 and reads its echoes after each, as boothd would;
	// the clinician reads nothing until the end.
	const burst = 32
	sent := 0
	press := func(on bool) {
		booth.send(signalling.TypeHelp, &signalling.Help{Requested: on})
		if sent++; sent%burst != 0 {
			return
		}
		key := fmt.Sprint("sync-", sent)
		booth.send(signalling.TypeEvent, &signalling.Event{Key: key, AppointmentID: e.otherAppt.ID, Event: appointment.Arrive, At: t0})
		for {
			typ, body := booth.recv()
			if ack, ok := body.(*signalling.EventAck); ok && typ == signalling.TypeEventAck && ack.Key == key {
				return
			}
		}
	}
	const n = sendQueueLen * 4
	// First the same request again and again: the clinician hears it once.
	for range n {
		press(true)
	}
	// Then on and off, faster than the clinician reads.
	for i := range n {
		press(i%2 == 1)
	}
	press(false)
	for sent%burst != 0 {
		press(false)
	}

	// The clinician's connection holds, and its last word is the booth's last state.
	msgs := make(chan signalling.Envelope, 1)
	bodies := make(chan any, 1)
	go func() {
		for {
			env, body, err := doc.conn.Recv(context.Background())
			if err != nil {
				close(msgs)
				return
			}
			msgs <- env
			bodies <- body
		}
	}()
	var last *signalling.Help
	helps := 0
	// Read until a second passes with nothing more, once the last state seen is the
	// booth's last (a loaded machine may pause mid-stream), or 30 s in all.
	giveUp := time.After(30 * time.Second)
	for quiet := false; !quiet; {
		select {
		case <-giveUp:
			quiet = true
		case env, ok := <-msgs:
			if !ok {
				t.Fatalf("clinician: connection ended after %d help messages", helps)
			}
			body := <-bodies
			if env.Type == signalling.TypeHelp {
				last = body.(*signalling.Help)
				helps++
			}
		case <-time.After(time.Second):
			quiet = last != nil && !last.Requested
		}
	}
	if last == nil || last.Requested || last.DeviceID != e.booth.ID {
		t.Errorf("clinician's last help: got %+v, want %s's request over", last, e.booth.ID)
	}
	if helps > n+2 { // the first press, n changes, and the last
		t.Errorf("clinician got %d help messages for %d changes: want the repeats coalesced", helps, n+2)
	}
	// Still connected: the clinician's next message is answered.
	doc.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
	select {
	case env, ok := <-msgs:
		body := <-bodies
		if m, isErr := body.(*signalling.Error); !ok || env.Type != signalling.TypeError || !isErr || m.Code != signalling.CodeConflict {
			t.Errorf("admit with nobody waiting after the flood: got %v %+v, want conflict", env.Type, body)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("admit after the flood: no answer")
	}
}

func TestAppointmentEventsPaged(t *testing.T) {
	e := newEnvWith(t, fastDevices(0, 0))
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	sendEvent(booth, "w", e.appt.ID, appointment.OpenWindow, t0)
	evs := []appointment.Event{appointment.Arrive, appointment.Leave}
	for i := range 150 {
		sendEvent(booth, fmt.Sprintf("k%d", i), e.appt.ID, evs[i%2], t0)
	}
	path := "/api/v1/appointments/" + e.appt.ID + "/events"
	var page api.History
	code, body := e.do("GET", path, e.docTok, nil)
	if code != http.StatusOK {
		t.Fatalf("events: got %d %s", code, body)
	}
	must(t, json.Unmarshal(body, &page))
	if len(page.Events) != defaultEventsPage || page.Total != 151 || page.NextOffset == nil || *page.NextOffset != 100 {
		t.Fatalf("first page: got %d events, total %d, next %v; want 100, 151, 100", len(page.Events), page.Total, page.NextOffset)
	}
	code, body = e.do("GET", path+"?offset=100&limit=500", e.docTok, nil)
	if code != http.StatusOK {
		t.Fatalf("second page: got %d %s", code, body)
	}
	page = api.History{}
	must(t, json.Unmarshal(body, &page))
	if len(page.Events) != 51 || page.NextOffset != nil || page.Events[0].Key != "k99" {
		t.Errorf("second page: got %d events from %q, next %v; want 51 from k99, no next", len(page.Events), page.Events[0].Key, page.NextOffset)
	}
	for _, q := range []string{"?limit=0", "?limit=501", "?offset=-1", "?offset=x"} {
		code, body := e.do("GET", path+q, e.docTok, nil)
		field := strings.TrimPrefix(strings.SplitN(q, "=", 2)[0], "?")
		if code != http.StatusBadRequest || errorOf(t, body).Field != field {
			t.Errorf("%s: got %d %s, want 400 naming %s", q, code, body, field)
		}
	}
}

// A device flooding call figures for calls that never happened, or the same call again,
// changes neither the appointment nor the clinic's report.
func TestHubQualityFloodChangesNothing(t *testing.T) {
	e := newEnvWith(t, fastDevices(0, 0))
	report := func() string {
		code, body := e.do("GET", "/api/v1/reports?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z", e.docTok, nil)
		if code != http.StatusOK {
			t.Fatalf("report: got %d %s", code, body)
		}
		return string(body)
	}
	_, booth, callID := e.inCall()
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: callID, BitrateKbps: 900, Seconds: 5})
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: callID, BitrateKbps: 1, Seconds: 1})
	expect[signalling.QualityAck](booth, signalling.TypeQualityAck)
	expect[signalling.QualityAck](booth, signalling.TypeQualityAck) // the first is in once this is answered
	before := report()
	a0, err := e.st.Appointment(e.appt.ID)
	must(t, err)
	// As many as a connection may have refused before it is closed (TestHubClosesAfterTooManyRefusals);
	// a device that reconnects to go on is still paced, per device, by DeviceLimits.
	for i := range maxRefusals - 1 {
		q := &signalling.Quality{AppointmentID: e.appt.ID, CallID: store.NewID(), BitrateKbps: 1, PacketLossPct: 90, Seconds: 2}
		if i%3 == 0 {
			q.CallID = callID // the real call, again: acknowledged, the first figures kept
			booth.send(signalling.TypeQuality, q)
			expect[signalling.QualityAck](booth, signalling.TypeQualityAck)
			continue
		}
		booth.send(signalling.TypeQuality, q)
		if m := expect[signalling.Error](booth, signalling.TypeError); m.Code != signalling.CodeNotInCall {
			t.Fatalf("quality %d (%s): got %s %q, want %s", i, q.CallID, m.Code, m.Message, signalling.CodeNotInCall)
		}
	}
	a, err := e.st.Appointment(e.appt.ID)
	must(t, err)
	if a.Quality == nil || a.Quality.Calls != 1 || a.Quality.BitrateKbps != 900 || a.UpdatedAt != a0.UpdatedAt {
		t.Errorf("quality after the flood: got %+v (updated %v), want the one call's figures as before", a.Quality, a.UpdatedAt)
	}
	if got := report(); got != before {
		t.Errorf("report changed by the flood:\n got %s\nwant %s", got, before)
	}
}
