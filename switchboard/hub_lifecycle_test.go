package switchboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/store"
)

// history returns an appointment's records as "event:from>to" (with "!" for refused).
func (e *env) history(id string) string {
	e.t.Helper()
	h, err := e.st.History(id)
	must(e.t, err)
	var parts []string
	for _, r := range h {
		p := fmt.Sprintf("%s:%s>%s", r.Event, r.From, r.To)
		if r.Refused != "" {
			p += "!"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func sendEvent(c *wsClient, key, apptID string, ev appointment.Event, at time.Time) *signalling.EventAck {
	c.t.Helper()
	c.send(signalling.TypeEvent, &signalling.Event{Key: key, AppointmentID: apptID, Event: ev, At: at})
	ack := expect[signalling.EventAck](c, signalling.TypeEventAck)
	if ack.Key != key {
		c.t.Fatalf("ack: got key %q, want %q", ack.Key, key)
	}
	return ack
}

func TestHubDeviceEventsApplyOnce(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	if ack := sendEvent(booth, "k1", e.appt.ID, appointment.OpenWindow, t0.Add(-5*time.Minute)); ack.Status != appointment.WindowOpen || ack.Refused != "" {
		t.Fatalf("window_open ack: got %+v", ack)
	}
	arrived := t0.Add(-2 * time.Minute) // recorded offline, before now
	if ack := sendEvent(booth, "k2", e.appt.ID, appointment.Arrive, arrived); ack.Status != appointment.Waiting {
		t.Fatalf("arrive ack: got %+v", ack)
	}
	q := expect[signalling.Queue](doc, signalling.TypeQueue)
	if len(q.Entries) != 1 || !q.Entries[0].Since.Equal(arrived) {
		t.Fatalf("queue: got %+v, want the patient, waiting since the booth's time %v", q, arrived)
	}
	// The link dropped before the ack: the booth sends k2 again. Nothing changes.
	if ack := sendEvent(booth, "k2", e.appt.ID, appointment.Arrive, arrived); !ack.Duplicate || ack.Status != appointment.Waiting {
		t.Fatalf("replayed arrive: got %+v, want a duplicate", ack)
	}
	if got, want := e.history(e.appt.ID), "window_open:scheduled>window_open arrive:window_open>waiting"; got != want {
		t.Errorf("history: got %s, want %s", got, want)
	}
	h, _ := e.st.History(e.appt.ID)
	if h[1].Actor != (appointment.Actor{Kind: appointment.ActorDevice, ID: e.booth.ID}) || h[1].Key != "k2" || !h[1].At.Equal(arrived) || !h[1].Received.Equal(t0) {
		t.Errorf("arrive record: got %+v, want the booth as actor, its key and both times", h[1])
	}
	if got := counterValue(t, e.reg, "carebooth_switchboard_device_events_total", "duplicate"); got != 1 {
		t.Errorf("device_events_total{result=duplicate}: got %v, want 1", got)
	}
	if ack := sendEvent(booth, "k3", e.appt.ID, appointment.Leave, t0); ack.Status != appointment.WindowOpen {
		t.Fatalf("leave ack: got %+v", ack)
	}
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Errorf("queue after leave: got %+v, want empty", q)
	}
}

func TestHubDeviceEventRefusedButKept(t *testing.T) {
	e := newEnv(t)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	if code, body := e.do("POST", "/api/v1/appointments/"+e.appt.ID+"/no-show", e.docTok, nil); code != http.StatusOK {
		t.Fatalf("no-show: got %d %s", code, body)
	}
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
	// The booth, offline, had opened its window: the event arrives after the no-show.
	ack := sendEvent(booth, "k1", e.appt.ID, appointment.OpenWindow, t0.Add(-time.Minute))
	if ack.Refused == "" || ack.Status != appointment.NoShow {
		t.Fatalf("ack: got %+v, want refused with status no_show", ack)
	}
	if got, want := e.history(e.appt.ID), "no_show:scheduled>no_show window_open:no_show>no_show!"; got != want {
		t.Errorf("history: got %s, want %s", got, want)
	}
	// Another device's appointment: refused and acknowledged, nothing recorded.
	ack = sendEvent(booth, "k2", e.otherAppt.ID, appointment.Arrive, t0)
	if ack.Refused == "" {
		t.Errorf("other device's appointment: got %+v, want refused", ack)
	}
	if got := e.history(e.otherAppt.ID); got != "" {
		t.Errorf("other appointment's history: got %q, want none", got)
	}
	doc := e.hello(e.docTok, signalling.RoleClinician)
	doc.send(signalling.TypeEvent, &signalling.Event{Key: "k3", AppointmentID: e.appt.ID, Event: appointment.Arrive, At: t0})
	doc.expectError(signalling.CodeForbidden, 2)
}

// The patient pressed End while the booth was offline and the switchboard had already put
// the appointment back to scheduled (device_lost): the replayed leave still applies.
func TestHubOfflineLeaveAppliesAfterDeviceLost(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	e.arrive(doc, booth)
	booth.ws.CloseNow()
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Fatalf("queue after the booth went: got %+v", q)
	}
	booth = e.hello(e.boothTok, signalling.RoleDevice)
	if ack := sendEvent(booth, "end-offline", e.appt.ID, appointment.Leave, t0); ack.Refused != "" || ack.Status != appointment.WindowOpen {
		t.Errorf("replayed leave: got %+v, want applied, window_open", ack)
	}
	want := "window_open:scheduled>window_open arrive:window_open>waiting device_lost:waiting>scheduled leave:scheduled>window_open"
	if got := e.history(e.appt.ID); got != want {
		t.Errorf("history: got %s, want %s", got, want)
	}
}

func TestHubOutcomes(t *testing.T) {
	t.Run("no-show", func(t *testing.T) {
		e := newEnv(t)
		code, body := e.do("POST", "/api/v1/appointments/"+e.appt.ID+"/no-show", e.docTok, nil)
		if code != http.StatusOK || !strings.Contains(string(body), `"no_show"`) {
			t.Fatalf("got %d %s, want 200 and status no_show", code, body)
		}
		if code, body := e.do("POST", "/api/v1/appointments/"+e.appt.ID+"/no-show", e.docTok, nil); code != http.StatusConflict || errorOf(t, body).Code != api.CodeConflict {
			t.Errorf("again: got %d %s, want 409", code, body)
		}
		if code, _ := e.do("POST", "/api/v1/appointments/"+e.otherAppt.ID+"/no-show", e.docTok, nil); code != http.StatusNotFound {
			t.Errorf("another clinic's: got %d, want 404", code)
		}
		if code, _ := e.do("DELETE", "/api/v1/appointments/"+e.appt.ID, e.docTok, nil); code != http.StatusConflict {
			t.Errorf("cancel after no-show: got %d, want 409", code)
		}
		if got := e.history(e.appt.ID); got != "no_show:scheduled>no_show" {
			t.Errorf("history: got %s", got)
		}
	})
	t.Run("no-show refused while the patient waits", func(t *testing.T) {
		e := newEnv(t)
		booth := e.hello(e.boothTok, signalling.RoleDevice)
		booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
		expect[signalling.Schedule](booth, signalling.TypeSchedule)
		before := e.snapshot()
		code, body := e.do("POST", "/api/v1/appointments/"+e.appt.ID+"/no-show", e.docTok, nil)
		if code != http.StatusConflict || !strings.Contains(errorOf(t, body).Message, "is waiting") {
			t.Fatalf("got %d %s, want 409 naming the status", code, body)
		}
		if e.snapshot() != before {
			t.Error("a refused no-show changed the store")
		}
	})
	t.Run("telephone mid-call ends the call", func(t *testing.T) {
		e := newEnv(t)
		doc, booth, callID := e.inCall()
		doc.send(signalling.TypeOutcome, &signalling.Outcome{AppointmentID: e.appt.ID, Outcome: signalling.OutcomeTelephone})
		for _, c := range []*wsClient{booth, doc} {
			if end := expect[signalling.End](c, signalling.TypeEnd); end.CallID != callID || end.Reason != signalling.EndHangup {
				t.Errorf("end: got %+v, want hangup of %s", end, callID)
			}
		}
		if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
			t.Errorf("queue: got %+v, want empty", q)
		}
		if s := expect[signalling.Schedule](booth, signalling.TypeSchedule); s.Appointments[0].Status != appointment.Telephone {
			t.Errorf("booth's schedule: got %+v, want telephone", s.Appointments[0])
		}
		if got, want := e.history(e.appt.ID), "window_open:scheduled>window_open arrive:window_open>waiting admit:waiting>in_call telephone:in_call>telephone"; got != want {
			t.Errorf("history: got %s, want %s", got, want)
		}
		// The call is gone: its messages are refused.
		doc.send(signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndHangup})
		doc.expectError(signalling.CodeNotInCall, 4)
		// The booth may not record outcomes.
		booth.send(signalling.TypeOutcome, &signalling.Outcome{AppointmentID: e.appt.ID, Outcome: signalling.OutcomeNoShow})
		booth.expectError(signalling.CodeForbidden, 3)
	})
	t.Run("events route", func(t *testing.T) {
		e := newEnv(t)
		e.do("POST", "/api/v1/appointments/"+e.appt.ID+"/telephone", e.docTok, nil)
		code, body := e.do("GET", "/api/v1/appointments/"+e.appt.ID+"/events", e.boothTok, nil)
		var got struct {
			Status appointment.Status
			Events []appointment.Record
		}
		if err := json.Unmarshal(body, &got); code != http.StatusOK || err != nil || got.Status != appointment.Telephone || len(got.Events) != 1 || got.Events[0].Actor.ID != e.doc.ID {
			t.Fatalf("got %d %s, want the telephone record by the clinician", code, body)
		}
		if code, _ := e.do("GET", "/api/v1/appointments/"+e.appt.ID+"/events", e.otherBoothTok, nil); code != http.StatusNotFound {
			t.Errorf("another device: got %d, want 404", code)
		}
	})
}

// After a switchboard restart the store may say "waiting" with nobody there: the stale
// status is reset (by the system, recorded) before what the person asked for.
func TestHubStaleStatusAfterRestart(t *testing.T) {
	e := newEnv(t)
	_, err := e.st.UpdateAppointment(e.appt.ID, func(a *store.Appointment) error { a.Status = appointment.InCall; return nil })
	must(t, err)
	if code, body := e.do("DELETE", "/api/v1/appointments/"+e.appt.ID, e.docTok, nil); code != http.StatusOK {
		t.Fatalf("cancel: got %d %s", code, body)
	}
	if got, want := e.history(e.appt.ID), "device_lost:in_call>scheduled cancel:scheduled>cancelled"; got != want {
		t.Errorf("history: got %s, want %s", got, want)
	}
}

func TestHubSettingsPushQueue(t *testing.T) {
	e := newEnv(t)
	put := func(mode string) (int, []byte) {
		return e.do("PUT", "/api/v1/devices/"+e.booth.ID+"/settings", e.adminTok, map[string]string{"join_mode": mode})
	}
	if code, body := put("loud"); code != http.StatusBadRequest || errorOf(t, body).Field != "join_mode" {
		t.Fatalf("bad mode: got %d %s, want 400 naming join_mode", code, body)
	}
	if code, _ := e.do("PUT", "/api/v1/devices/"+e.booth.ID+"/settings", e.docTok, map[string]string{"join_mode": "button"}); code != http.StatusForbidden {
		t.Errorf("non-admin: got %d, want 403", code)
	}
	if code, _ := e.do("PUT", "/api/v1/devices/nope/settings", e.adminTok, map[string]string{"join_mode": "button"}); code != http.StatusNotFound {
		t.Errorf("unknown device: got %d, want 404", code)
	}
	// The booth is offline: the setting waits for it.
	code, body := put("button")
	if code != http.StatusOK || !strings.Contains(string(body), `"sent_now": false`) {
		t.Fatalf("set while offline: got %d %s", code, body)
	}
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	s := expect[signalling.Settings](booth, signalling.TypeSettings)
	if s.JoinMode != "button" {
		t.Fatalf("settings on connect: got %+v", s)
	}
	// Not acknowledged: sent again on the next connection.
	booth.ws.CloseNow()
	booth = e.hello(e.boothTok, signalling.RoleDevice)
	if again := expect[signalling.Settings](booth, signalling.TypeSettings); again.Seq != s.Seq {
		t.Fatalf("resent: got %+v, want seq %d", again, s.Seq)
	}
	booth.send(signalling.TypeSettingsAck, &signalling.SettingsAck{Seq: s.Seq})
	// Online: sent at once.
	if code, body := put("auto"); code != http.StatusOK || !strings.Contains(string(body), `"sent_now": true`) {
		t.Fatalf("set while online: got %d %s", code, body)
	}
	if now := expect[signalling.Settings](booth, signalling.TypeSettings); now.JoinMode != "auto" || now.Seq <= s.Seq {
		t.Fatalf("live push: got %+v", now)
	}
	// The ack travels over the booth's WebSocket, applied by the hub on its own time: wait
	// for it (a guard, not a speed requirement).
	var ps []store.Push
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ps, _ = e.st.Pushes(e.booth.ID)
		if len(ps) == 1 && ps[0].Seq != s.Seq || time.Now().After(deadline) {
			break
		}
	}
	if len(ps) != 1 || ps[0].Seq == s.Seq {
		t.Errorf("queue after the first ack: got %+v, want only the unacknowledged second", ps)
	}
	if d, _ := e.st.Device(e.booth.ID); d.JoinMode != "auto" {
		t.Errorf("stored: got %q, want auto", d.JoinMode)
	}
}

// addClinicDevice adds a clinic-room appliance to the env's clinic.
func (e *env) addClinicDevice() (store.Device, string) {
	tok := newToken(deviceTokenPrefix)
	d := store.Device{Name: "room-3", ClinicID: e.clinic.ID, Role: device.RoleClinic, TokenHash: hashToken(tok), CreatedAt: t0}
	must(e.t, e.st.CreateDevice(&d))
	return d, tok
}

func TestHubClinicDevice(t *testing.T) {
	e := newEnv(t)
	_, tok := e.addClinicDevice()
	room := e.hello(tok, signalling.RoleDevice)
	if q := expect[signalling.Queue](room, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Fatalf("first queue: got %+v", q)
	}
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
	if q := expect[signalling.Queue](room, signalling.TypeQueue); len(q.Entries) != 1 {
		t.Fatalf("queue after arrive: got %+v", q)
	}
	// A booth may not admit.
	booth.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
	booth.expectError(signalling.CodeForbidden, 3)
	room.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
	offer := expect[signalling.Call](room, signalling.TypeCall)
	if offer.Role != signalling.CallOfferer {
		t.Fatalf("clinic device's call: got %+v, want the offerer", offer)
	}
	if c := expect[signalling.Call](booth, signalling.TypeCall); c.Peer != "room-3" || c.Role != signalling.CallAnswerer {
		t.Errorf("booth's call: got %+v", c)
	}
	expect[signalling.Queue](room, signalling.TypeQueue)
	expect[signalling.Schedule](booth, signalling.TypeSchedule) // status in_call
	room.send(signalling.TypeOffer, &signalling.SDP{CallID: offer.CallID, SDP: testSDP})
	expect[signalling.SDP](booth, signalling.TypeOffer)
	room.send(signalling.TypeEnd, &signalling.End{CallID: offer.CallID, Reason: signalling.EndHangup})
	expect[signalling.End](booth, signalling.TypeEnd)
	h, _ := e.st.History(e.appt.ID)
	last := h[len(h)-1]
	if last.Event != appointment.End || last.Actor.Kind != appointment.ActorDevice {
		t.Errorf("last record: got %+v, want end by the clinic device", last)
	}
}

// The clinician's web app and the clinic-room appliance watch the same waiting room;
// when both admit the same patient at once, exactly one call starts.
func TestHubConcurrentAdmitsOneWins(t *testing.T) {
	for round := 0; round < 10; round++ {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			e := newEnv(t)
			_, tok := e.addClinicDevice()
			room := e.hello(tok, signalling.RoleDevice)
			expect[signalling.Queue](room, signalling.TypeQueue)
			doc := e.hello(e.docTok, signalling.RoleClinician)
			booth := e.hello(e.boothTok, signalling.RoleDevice)
			booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
			expect[signalling.Queue](room, signalling.TypeQueue)
			expect[signalling.Queue](doc, signalling.TypeQueue)
			var wg sync.WaitGroup
			for _, c := range []*wsClient{room, doc} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.conn.Send(t.Context(), signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID}) //nolint:errcheck // checked by what comes back
				}()
			}
			wg.Wait()
			calls, conflicts := 0, 0
			for _, c := range []*wsClient{room, doc} {
				for done := false; !done; {
					typ, body := c.recv()
					switch typ {
					case signalling.TypeCall:
						calls++
						done = true
					case signalling.TypeError:
						if body.(*signalling.Error).Code != signalling.CodeConflict {
							t.Fatalf("got error %+v, want conflict", body)
						}
						conflicts++
						done = true
					}
				}
			}
			if calls != 1 || conflicts != 1 {
				t.Fatalf("got %d calls and %d conflicts, want exactly one of each", calls, conflicts)
			}
			if got := e.status(e.appt.ID); got != appointment.InCall {
				t.Errorf("status: got %s, want in_call", got)
			}
		})
	}
}

// A connected booth is sent its schedule again every hour, so its 48-hour cache moves on
// even when nothing is booked: an appointment 48.5 hours ahead reaches it.
func TestHubRefreshesSchedules(t *testing.T) {
	e := newEnv(t)
	far := e.addAppointment(e.booth, "Far Ahead", t0.Add(48*time.Hour+30*time.Minute))
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	got := make(chan *signalling.Schedule, 1)
	go func() { got <- expect[signalling.Schedule](booth, signalling.TypeSchedule) }() // reading answers the pings too
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, 1); err != nil { // the pinger's ticker
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	select {
	case s := <-got:
		ids := map[string]bool{}
		for _, a := range s.Appointments {
			ids[a.ID] = true
		}
		if !ids[far.ID] || !ids[e.appt.ID] {
			t.Errorf("refreshed schedule: got %+v, want both appointments", s.Appointments)
		}
	case <-ctx.Done():
		t.Fatal("no schedule after an hour")
	}
}

// counterValue reads one labelled value of a counter family from reg (0 if absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
