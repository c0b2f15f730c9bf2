package switchboard

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

// wsClient is a test peer on the signalling channel.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	conn *signalling.Conn
}

func (e *env) dial(tok string) *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, res)
	}
	c := &wsClient{t: e.t, ws: ws, conn: signalling.NewConn(ws)}
	e.t.Cleanup(func() { ws.CloseNow() })
	return c
}

func (c *wsClient) send(t signalling.Type, body any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Send(ctx, t, body); err != nil {
		c.t.Fatalf("send %s: %v", t, err)
	}
}

func (c *wsClient) sendRaw(data string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.SendRaw(ctx, []byte(data)); err != nil {
		c.t.Fatalf("send raw: %v", err)
	}
}

func (c *wsClient) recv() (signalling.Type, any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env, body, err := c.conn.Recv(ctx)
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return env.Type, body
}

// expect receives the next message and checks its type.
func expect[T any](c *wsClient, want signalling.Type) *T {
	c.t.Helper()
	got, body := c.recv()
	if got != want {
		c.t.Fatalf("got %s %+v, want %s", got, body, want)
	}
	return body.(*T)
}

func (c *wsClient) expectError(code string, ref uint64) {
	c.t.Helper()
	m := expect[signalling.Error](c, signalling.TypeError)
	if m.Code != code || m.Ref != ref {
		c.t.Fatalf("error: got %s (ref %d) %q, want %s (ref %d)", m.Code, m.Ref, m.Message, code, ref)
	}
}

// hello opens a connection as a device or a clinician and reads what the switchboard
// sends first (welcome, then schedule or queue).
func (e *env) hello(tok string, role signalling.Role) *wsClient {
	e.t.Helper()
	c := e.dial(tok)
	c.send(signalling.TypeHello, &signalling.Hello{Role: role, Agent: "test"})
	w := expect[signalling.Welcome](c, signalling.TypeWelcome)
	if w.Role != role {
		e.t.Fatalf("welcome role: got %s, want %s", w.Role, role)
	}
	if role == signalling.RoleDevice {
		expect[signalling.Schedule](c, signalling.TypeSchedule)
	} else {
		expect[signalling.Queue](c, signalling.TypeQueue)
	}
	return c
}

func (e *env) status(id string) appointment.Status {
	e.t.Helper()
	a, err := e.st.Appointment(id)
	must(e.t, err)
	return a.Status
}

// arrive has booth-1 arrive for its appointment and reads what that pushes: the booth's
// schedule (status waiting) and the clinician's waiting room.
func (e *env) arrive(doc, booth *wsClient) {
	e.t.Helper()
	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
	expect[signalling.Queue](doc, signalling.TypeQueue)
}

// inCall sets up a call between dr.patel and booth-1 and returns both ends and the call ID.
func (e *env) inCall() (doc, booth *wsClient, callID string) {
	e.t.Helper()
	doc = e.hello(e.docTok, signalling.RoleClinician)
	booth = e.hello(e.boothTok, signalling.RoleDevice)
	e.arrive(doc, booth)
	doc.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
	offerer := expect[signalling.Call](doc, signalling.TypeCall)
	answerer := expect[signalling.Call](booth, signalling.TypeCall)
	if offerer.CallID != answerer.CallID || offerer.Role != signalling.CallOfferer || answerer.Role != signalling.CallAnswerer {
		e.t.Fatalf("call: got %+v and %+v", offerer, answerer)
	}
	if offerer.Peer != "Alex Morgan" || answerer.Peer != "Dr Patel" {
		e.t.Errorf("peers: got %q and %q, want the patient and the clinician", offerer.Peer, answerer.Peer)
	}
	expect[signalling.Queue](doc, signalling.TypeQueue)
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
	if got := e.status(e.appt.ID); got != appointment.InCall {
		e.t.Errorf("status after admit: got %s, want in_call", got)
	}
	return doc, booth, offerer.CallID
}

const testSDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"

func TestHubCallFlow(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)

	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
	sch := expect[signalling.Schedule](booth, signalling.TypeSchedule)
	if len(sch.Appointments) != 1 || sch.Appointments[0].Status != appointment.Waiting || sch.Appointments[0].ClinicName != "Riverside" {
		t.Errorf("schedule after arrive: got %+v", sch)
	}
	q := expect[signalling.Queue](doc, signalling.TypeQueue)
	if len(q.Entries) != 1 || q.Entries[0].AppointmentID != e.appt.ID || q.Entries[0].Patient != "Alex Morgan" || q.Entries[0].InCall {
		t.Fatalf("queue after arrive: got %+v", q)
	}
	// A clinician connecting now gets the waiting room at once.
	late := e.dial(e.docTok)
	late.send(signalling.TypeHello, &signalling.Hello{Role: signalling.RoleClinician})
	expect[signalling.Welcome](late, signalling.TypeWelcome)
	if q := expect[signalling.Queue](late, signalling.TypeQueue); len(q.Entries) != 1 {
		t.Errorf("queue on hello: got %+v, want one entry", q)
	}
	late.ws.Close(websocket.StatusNormalClosure, "")

	doc.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
	call := expect[signalling.Call](doc, signalling.TypeCall)
	expect[signalling.Call](booth, signalling.TypeCall)
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 1 || !q.Entries[0].InCall {
		t.Errorf("queue after admit: got %+v, want the patient in call", q)
	}
	expect[signalling.Schedule](booth, signalling.TypeSchedule)

	doc.send(signalling.TypeOffer, &signalling.SDP{CallID: call.CallID, SDP: testSDP + "offer"})
	if m := expect[signalling.SDP](booth, signalling.TypeOffer); m.SDP != testSDP+"offer" {
		t.Errorf("relayed offer: got %q", m.SDP)
	}
	booth.send(signalling.TypeAnswer, &signalling.SDP{CallID: call.CallID, SDP: testSDP + "answer"})
	if m := expect[signalling.SDP](doc, signalling.TypeAnswer); m.SDP != testSDP+"answer" {
		t.Errorf("relayed answer: got %q", m.SDP)
	}
	mid := "0"
	booth.send(signalling.TypeCandidate, &signalling.Candidate{CallID: call.CallID, Candidate: "candidate:1 1 udp 1 10.0.0.1 5000 typ host", SDPMid: &mid})
	if m := expect[signalling.Candidate](doc, signalling.TypeCandidate); m.SDPMid == nil || *m.SDPMid != "0" {
		t.Errorf("relayed candidate: got %+v", m)
	}
	doc.send(signalling.TypeCandidate, &signalling.Candidate{CallID: call.CallID, Candidate: ""})
	expect[signalling.Candidate](booth, signalling.TypeCandidate)

	booth.send(signalling.TypeEnd, &signalling.End{CallID: call.CallID, Reason: signalling.EndHangup})
	if m := expect[signalling.End](doc, signalling.TypeEnd); m.Reason != signalling.EndHangup {
		t.Errorf("relayed end: got %+v", m)
	}
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Errorf("queue after end: got %+v, want empty", q)
	}
	if got := e.status(e.appt.ID); got != appointment.Ended {
		t.Errorf("status after end: got %s, want ended", got)
	}
	// The ended call is gone: relaying on it is refused.
	doc.send(signalling.TypeOffer, &signalling.SDP{CallID: call.CallID, SDP: testSDP})
	doc.expectError(signalling.CodeNotInCall, 5)
}

func TestHubLeaveAndSchedulePush(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	e.arrive(doc, booth)
	booth.send(signalling.TypeLeave, &signalling.Leave{AppointmentID: e.appt.ID})
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Errorf("queue after leave: got %+v", q)
	}
	// Leaving the waiting room leaves the join window open: the patient may come back.
	if s := expect[signalling.Schedule](booth, signalling.TypeSchedule); s.Appointments[0].Status != appointment.WindowOpen {
		t.Errorf("schedule after leave: got %+v", s)
	}

	// Booking through the API pushes a new schedule.
	start := t0.Add(time.Hour)
	code, body := e.do("POST", "/api/v1/appointments", e.docTok, map[string]any{"device_id": e.booth.ID, "patient": "Kim", "start": start, "end": start.Add(20 * time.Minute)})
	if code != http.StatusCreated {
		t.Fatalf("book: got %d %s", code, body)
	}
	if s := expect[signalling.Schedule](booth, signalling.TypeSchedule); len(s.Appointments) != 2 {
		t.Errorf("schedule after booking: got %d appointments, want 2", len(s.Appointments))
	}
	// Cancelling a waiting appointment takes it out of the waiting room.
	e.arrive(doc, booth)
	if code, body := e.do("DELETE", "/api/v1/appointments/"+e.appt.ID, e.docTok, nil); code != http.StatusOK {
		t.Fatalf("cancel: got %d %s", code, body)
	}
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Errorf("queue after cancel: got %+v", q)
	}
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
}

func TestHubRefusals(t *testing.T) {
	tests := []struct {
		name string
		// run sends the bad message after any set-up and returns the connection that
		// must get the error, with its code and ref.
		run func(e *env, snap func()) (c *wsClient, code string, ref uint64)
	}{
		{"malformed JSON", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.sendRaw(`{"v":1,"type":"arrive",`)
			return c, signalling.CodeBadMessage, 0
		}},
		{"oversized", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.sendRaw(strings.Repeat(" ", signalling.MaxMessageBytes+1))
			return c, signalling.CodeTooLarge, 0
		}},
		{"wrong version", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.sendRaw(`{"v":2,"type":"arrive","seq":9,"body":{"appointment_id":"` + e.appt.ID + `"}}`)
			return c, signalling.CodeUnsupportedVersion, 9
		}},
		{"seq not increasing", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice) // hello was seq 1
			snap()
			c.sendRaw(`{"v":1,"type":"arrive","seq":1,"body":{"appointment_id":"` + e.appt.ID + `"}}`)
			return c, signalling.CodeOutOfOrder, 1
		}},
		{"unknown type", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.sendRaw(`{"v":1,"type":"teleport","seq":5,"body":{}}`)
			return c, signalling.CodeBadMessage, 5
		}},
		{"message before hello", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.dial(e.boothTok)
			snap()
			c.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
			return c, signalling.CodeOutOfOrder, 1
		}},
		{"hello with the wrong role", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.dial(e.boothTok)
			snap()
			c.send(signalling.TypeHello, &signalling.Hello{Role: signalling.RoleClinician})
			return c, signalling.CodeForbidden, 1
		}},
		{"second hello", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.send(signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice})
			return c, signalling.CodeOutOfOrder, 2
		}},
		{"switchboard-only type", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.send(signalling.TypeQueue, &signalling.Queue{})
			return c, signalling.CodeBadMessage, 2
		}},
		{"arrive for another device's appointment", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.otherAppt.ID})
			return c, signalling.CodeForbidden, 2
		}},
		{"arrive for an unknown appointment", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: "nope"})
			return c, signalling.CodeUnknownAppointment, 2
		}},
		{"arrive for a cancelled appointment", func(e *env, snap func()) (*wsClient, string, uint64) {
			_, err := e.st.UpdateAppointment(e.appt.ID, func(a *store.Appointment) error { a.Status = appointment.Cancelled; return nil })
			must(e.t, err)
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
			return c, signalling.CodeUnknownAppointment, 2
		}},
		{"admit by a device", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.boothTok, signalling.RoleDevice)
			snap()
			c.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
			return c, signalling.CodeForbidden, 2
		}},
		{"admit of an unknown appointment", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.docTok, signalling.RoleClinician)
			snap()
			c.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: "nope"})
			return c, signalling.CodeUnknownAppointment, 2
		}},
		{"admit of a patient not waiting", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.docTok, signalling.RoleClinician)
			snap()
			c.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
			return c, signalling.CodeConflict, 2
		}},
		{"admit of another clinic's patient", func(e *env, snap func()) (*wsClient, string, uint64) {
			c := e.hello(e.docTok, signalling.RoleClinician)
			snap()
			c.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.otherAppt.ID})
			return c, signalling.CodeForbidden, 2
		}},
		{"double admit", func(e *env, snap func()) (*wsClient, string, uint64) {
			doc, _, _ := e.inCall()
			doc2 := e.hello(e.docTok, signalling.RoleClinician)
			snap()
			doc2.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
			_ = doc
			return doc2, signalling.CodeConflict, 2
		}},
		{"answer from a device not in the call", func(e *env, snap func()) (*wsClient, string, uint64) {
			_, _, callID := e.inCall()
			other := e.hello(e.otherBoothTok, signalling.RoleDevice)
			snap()
			other.send(signalling.TypeAnswer, &signalling.SDP{CallID: callID, SDP: testSDP})
			return other, signalling.CodeNotInCall, 2
		}},
		{"offer from a clinician not in the call", func(e *env, snap func()) (*wsClient, string, uint64) {
			_, _, callID := e.inCall()
			other := e.hello(e.otherDocTok, signalling.RoleClinician)
			snap()
			other.send(signalling.TypeOffer, &signalling.SDP{CallID: callID, SDP: testSDP})
			return other, signalling.CodeNotInCall, 2
		}},
		{"end from a clinician not in the call", func(e *env, snap func()) (*wsClient, string, uint64) {
			_, _, callID := e.inCall()
			other := e.hello(e.docTok, signalling.RoleClinician) // same clinic, other connection
			snap()
			other.send(signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndHangup})
			return other, signalling.CodeNotInCall, 2
		}},
		{"answer before the offer", func(e *env, snap func()) (*wsClient, string, uint64) {
			_, booth, callID := e.inCall()
			snap()
			booth.send(signalling.TypeAnswer, &signalling.SDP{CallID: callID, SDP: testSDP})
			return booth, signalling.CodeOutOfOrder, 3
		}},
		{"offer from the answerer", func(e *env, snap func()) (*wsClient, string, uint64) {
			_, booth, callID := e.inCall()
			snap()
			booth.send(signalling.TypeOffer, &signalling.SDP{CallID: callID, SDP: testSDP})
			return booth, signalling.CodeOutOfOrder, 3
		}},
		{"candidate before the offer", func(e *env, snap func()) (*wsClient, string, uint64) {
			doc, _, callID := e.inCall()
			snap()
			doc.send(signalling.TypeCandidate, &signalling.Candidate{CallID: callID})
			return doc, signalling.CodeOutOfOrder, 3
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var before string
			c, code, ref := tc.run(e, func() { before = e.snapshot() })
			c.expectError(code, ref)
			if before == "" {
				t.Fatal("test case did not take a snapshot before its bad message")
			}
			if got := e.snapshot(); got != before {
				t.Errorf("store changed by the refused message:\n got %s\nwant %s", got, before)
			}
		})
	}
}

func TestHubDoesNotRelayFromOutsiders(t *testing.T) {
	e := newEnv(t)
	doc, booth, callID := e.inCall()
	doc.send(signalling.TypeOffer, &signalling.SDP{CallID: callID, SDP: testSDP + "offer"})
	expect[signalling.SDP](booth, signalling.TypeOffer)
	intruder := e.hello(e.otherBoothTok, signalling.RoleDevice)
	intruder.send(signalling.TypeAnswer, &signalling.SDP{CallID: callID, SDP: testSDP + "intruder"})
	intruder.expectError(signalling.CodeNotInCall, 2)
	booth.send(signalling.TypeAnswer, &signalling.SDP{CallID: callID, SDP: testSDP + "booth"})
	if m := expect[signalling.SDP](doc, signalling.TypeAnswer); m.SDP != testSDP+"booth" {
		t.Errorf("clinician got answer %q, want only the booth's", m.SDP)
	}
}

func TestHubDeviceDropEndsCallKeepsAppointment(t *testing.T) {
	e := newEnv(t)
	doc, booth, callID := e.inCall()
	booth.ws.CloseNow()
	end := expect[signalling.End](doc, signalling.TypeEnd)
	if end.CallID != callID || end.Reason != signalling.EndPeerLost {
		t.Errorf("end: got %+v, want peer_lost for %s", end, callID)
	}
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Errorf("queue: got %+v, want empty", q)
	}
	if got := e.status(e.appt.ID); got != appointment.Scheduled {
		t.Errorf("status: got %s, want scheduled (the booth may rejoin)", got)
	}
}

func TestHubDeviceDropWhileWaiting(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
	expect[signalling.Queue](doc, signalling.TypeQueue)
	booth.ws.CloseNow()
	if q := expect[signalling.Queue](doc, signalling.TypeQueue); len(q.Entries) != 0 {
		t.Errorf("queue: got %+v, want empty", q)
	}
	if got := e.status(e.appt.ID); got != appointment.Scheduled {
		t.Errorf("status: got %s, want scheduled", got)
	}
}

func TestHubClinicianDropReturnsPatientToWaitingRoom(t *testing.T) {
	e := newEnv(t)
	doc, booth, callID := e.inCall()
	watcher := e.hello(e.docTok, signalling.RoleClinician)
	doc.ws.CloseNow()
	end := expect[signalling.End](booth, signalling.TypeEnd)
	if end.CallID != callID || end.Reason != signalling.EndPeerLost {
		t.Errorf("end: got %+v, want peer_lost", end)
	}
	e.expectWaitingAgain(watcher)
}

// expectWaitingAgain checks, through a clinician's connection, that the env's patient is
// back in the waiting room after a call and can be admitted again.
func (e *env) expectWaitingAgain(clinician *wsClient) {
	e.t.Helper()
	if q := expect[signalling.Queue](clinician, signalling.TypeQueue); len(q.Entries) != 1 || q.Entries[0].InCall {
		e.t.Errorf("queue: got %+v, want the patient waiting again", q)
	}
	if got := e.status(e.appt.ID); got != appointment.Waiting {
		e.t.Errorf("status: got %s, want waiting", got)
	}
	clinician.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
	expect[signalling.Call](clinician, signalling.TypeCall)
}

// A call whose media failed while both stayed connected (reported by either side) puts the
// patient back in the waiting room: no consultation happened, and the clinician can admit
// them again or move to the telephone.
func TestHubFailedCallReturnsPatientToWaitingRoom(t *testing.T) {
	for _, reporter := range []string{"booth", "clinician"} {
		t.Run(reporter, func(t *testing.T) {
			e := newEnv(t)
			doc, booth, callID := e.inCall()
			from, to := booth, doc
			if reporter == "clinician" {
				from, to = doc, booth
			}
			from.send(signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndFailed})
			if end := expect[signalling.End](to, signalling.TypeEnd); end.Reason != signalling.EndFailed {
				t.Errorf("end: got %+v, want failed", end)
			}
			e.expectWaitingAgain(doc)
		})
	}
}

// A booth reports how each call went when it ends; the switchboard keeps running means on
// the appointment for the commissioners' report. Only the appointment's own booth may, only
// for a call the appointment had, once per call, and for no longer than the call lasted.
func TestHubKeepsCallQuality(t *testing.T) {
	e := newEnv(t)
	doc, booth, callID := e.inCall()
	e.clock.Advance(10 * time.Minute)
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: callID, BitrateKbps: 900, PacketLossPct: 2, RTTMs: 30, Seconds: 600})
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: callID, BitrateKbps: 1, Seconds: 1})
	for range 2 { // kept, and the same call again (its ack lost, say): acknowledged, the first kept
		if m := expect[signalling.QualityAck](booth, signalling.TypeQualityAck); m.CallID != callID || m.Refused != "" {
			t.Fatalf("quality ack: got %+v, want call %s kept", m, callID)
		}
	}

	// The media failed; the patient is admitted again and the second call lasts 5 minutes.
	booth.send(signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndFailed})
	expect[signalling.End](doc, signalling.TypeEnd)
	e.expectWaitingAgain(doc)
	var second string
	for second == "" {
		if typ, body := booth.recv(); typ == signalling.TypeCall {
			second = body.(*signalling.Call).CallID
		}
	}
	expect[signalling.Schedule](booth, signalling.TypeSchedule) // in a call again
	e.clock.Advance(5 * time.Minute)
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: second, BitrateKbps: 1, Seconds: 3600})
	booth.expectError(signalling.CodeBadMessage, 6) // longer than the call
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: second, BitrateKbps: 700, PacketLossPct: 0, RTTMs: 10, Seconds: 300})
	expect[signalling.QualityAck](booth, signalling.TypeQualityAck)
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: store.NewID(), BitrateKbps: 1, Seconds: 1})
	booth.expectError(signalling.CodeNotInCall, 8) // no such call

	intruder := e.hello(e.otherBoothTok, signalling.RoleDevice)
	intruder.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: callID, BitrateKbps: 1, Seconds: 1})
	intruder.expectError(signalling.CodeForbidden, 2)
	expect[signalling.Queue](doc, signalling.TypeQueue) // in a call again
	doc.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: e.appt.ID, CallID: callID, BitrateKbps: 1, Seconds: 1})
	if m := expect[signalling.Error](doc, signalling.TypeError); m.Code != signalling.CodeForbidden {
		t.Errorf("quality from a clinician: got %s, want %s", m.Code, signalling.CodeForbidden)
	}
	booth.send(signalling.TypeQuality, &signalling.Quality{AppointmentID: "nope", CallID: callID, Seconds: 1})
	if m := expect[signalling.Error](booth, signalling.TypeError); m.Code != signalling.CodeUnknownAppointment {
		t.Errorf("quality for an unknown appointment: got %s, want %s", m.Code, signalling.CodeUnknownAppointment)
	}

	a, err := e.st.Appointment(e.appt.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.CallQuality{Calls: 2, BitrateKbps: 800, PacketLossPct: 1, RTTMs: 20, Seconds: 900, CallIDs: []string{callID, second}}
	if a.Quality == nil || !reflect.DeepEqual(*a.Quality, want) {
		t.Errorf("quality: got %+v, want %+v", a.Quality, want)
	}
}

// The Help button reaches the clinic's clinicians, and the booth hears back only when
// someone was told; with nobody connected it is refused.
func TestHubHelp(t *testing.T) {
	e := newEnv(t)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	booth.send(signalling.TypeHelp, &signalling.Help{Requested: true})
	if m := expect[signalling.Error](booth, signalling.TypeError); m.Code != signalling.CodeConflict {
		t.Errorf("help with nobody connected: got %s, want %s", m.Code, signalling.CodeConflict)
	}

	doc := e.hello(e.docTok, signalling.RoleClinician)
	other := e.hello(e.otherDocTok, signalling.RoleClinician)
	booth.send(signalling.TypeHelp, &signalling.Help{Requested: true})
	got := expect[signalling.Help](doc, signalling.TypeHelp)
	if !got.Requested || got.DeviceID != e.booth.ID || got.DeviceName != e.booth.Name {
		t.Errorf("clinician: got %+v, want a request from %s (%s)", got, e.booth.ID, e.booth.Name)
	}
	if ack := expect[signalling.Help](booth, signalling.TypeHelp); !ack.Requested {
		t.Errorf("booth: got %+v, want the request echoed", ack)
	}
	booth.send(signalling.TypeHelp, &signalling.Help{Requested: false})
	if got := expect[signalling.Help](doc, signalling.TypeHelp); got.Requested {
		t.Errorf("clinician: got %+v, want the request over", got)
	}
	// Clinicians cannot ask for help.
	other.send(signalling.TypeHelp, &signalling.Help{Requested: true})
	if m := expect[signalling.Error](other, signalling.TypeError); m.Code != signalling.CodeForbidden {
		t.Errorf("help from a clinician: got %s, want %s", m.Code, signalling.CodeForbidden)
	}
}

func TestHubClosesAfterTooManyRefusals(t *testing.T) {
	e := newEnv(t)
	c := e.hello(e.boothTok, signalling.RoleDevice)
	for range maxRefusals + 1 {
		c.sendRaw(`garbage`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := 0
	for {
		_, _, err := c.conn.Recv(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Errorf("close: got %v, want policy violation", err)
			}
			break
		}
		errs++
	}
	if errs != maxRefusals+1 {
		t.Errorf("got %d error messages before the close, want %d", errs, maxRefusals+1)
	}
}

func TestHubOriginCheck(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.docTok}, "Origin": {"https://evil.example"}}})
	if err == nil {
		ws.CloseNow()
		t.Fatal("dial from a foreign origin: got a connection, want a refusal")
	}
	if res == nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: got %v, want 403", res)
	}
	ws, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.docTok}, "Origin": {e.ts.URL}}})
	if err != nil {
		t.Fatalf("same origin: %v", err)
	}
	ws.CloseNow()
}

func TestHubMetrics(t *testing.T) {
	e := newEnv(t)
	doc, booth, callID := e.inCall()
	doc.send(signalling.TypeOffer, &signalling.SDP{CallID: callID, SDP: testSDP})
	expect[signalling.SDP](booth, signalling.TypeOffer)
	booth.send(signalling.TypeAnswer, &signalling.SDP{CallID: callID, SDP: testSDP})
	expect[signalling.SDP](doc, signalling.TypeAnswer)
	booth.sendRaw("garbage")
	booth.expectError(signalling.CodeBadMessage, 0)
	_, body := e.do("GET", "/metrics", testMetricsToken, nil)
	for _, want := range []string{
		"carebooth_switchboard_calls_started_total 1",
		"carebooth_switchboard_calls_active 1",
		`carebooth_switchboard_connections{role="clinician"} 1`,
		`carebooth_switchboard_connections{role="device"} 1`,
		`carebooth_switchboard_waiting_room_length{clinic_id="` + e.clinic.ID + `"} 1`,
		`carebooth_switchboard_signalling_errors_total{code="bad_message"} 1`,
		"carebooth_switchboard_waiting_seconds_count 1",
		"carebooth_switchboard_call_setup_seconds_count 1",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	booth.send(signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndHangup})
	expect[signalling.End](doc, signalling.TypeEnd)
	_, body = e.do("GET", "/metrics", testMetricsToken, nil)
	if !strings.Contains(string(body), `carebooth_switchboard_calls_ended_total{reason="hangup"} 1`) {
		t.Errorf("metrics lack the ended call")
	}
}

func TestHubDisconnectsPeerThatDoesNotAnswerPings(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.PingInterval = 300 * time.Millisecond })
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	booth.send(signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.appt.ID})
	expect[signalling.Schedule](booth, signalling.TypeSchedule)
	// From here on the test client does not read, so it cannot answer a ping.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, 1); err != nil { // the pinger's ticker
		t.Fatal(err)
	}
	e.clock.Advance(300 * time.Millisecond)
	for e.status(e.appt.ID) != appointment.Scheduled {
		if ctx.Err() != nil {
			t.Fatalf("status: got %s, want scheduled once the silent booth is dropped", e.status(e.appt.ID))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if q := e.srv.hub.Queue(e.clinic.ID); len(q.Entries) != 0 {
		t.Errorf("waiting room: got %+v, want empty", q)
	}
}

// TestDevicesLearnTheClinicsPhone: a device's welcome and its schedule carry the clinic's
// name and phone number, for the booth's screens.
func TestDevicesLearnTheClinicsPhone(t *testing.T) {
	e := newEnv(t)
	c := e.dial(e.boothTok)
	c.send(signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice, Agent: "test"})
	w := expect[signalling.Welcome](c, signalling.TypeWelcome)
	if w.ClinicName != "Riverside" || w.ClinicPhone != "01632 960 123" {
		t.Errorf("welcome: got clinic %q phone %q, want Riverside, 01632 960 123", w.ClinicName, w.ClinicPhone)
	}
	sch := expect[signalling.Schedule](c, signalling.TypeSchedule)
	if len(sch.Appointments) != 1 || sch.Appointments[0].ClinicPhone != "01632 960 123" {
		t.Errorf("schedule: got %+v, want one appointment with the clinic's phone", sch.Appointments)
	}
}

// TestHubHandsOutRelayCredentials: each party of a call gets the configured ICE servers
// and the relay with credentials of its own.
func TestHubHandsOutRelayCredentials(t *testing.T) {
	stun := signalling.ICEServer{URLs: []string{"stun:stun.example:3478"}}
	e := newEnvWith(t, func(c *Config) {
		c.ICEServers = []signalling.ICEServer{stun}
		c.Relay = func(party string) (signalling.ICEServer, error) {
			return signalling.ICEServer{URLs: []string{"turn:relay.example:3478"}, Username: "9999999999:" + party, Credential: "pw-" + party}, nil
		}
	})
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	e.arrive(doc, booth)
	doc.send(signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.appt.ID})
	for who, c := range map[string]struct {
		m  *signalling.Call
		id string
	}{"clinician": {expect[signalling.Call](doc, signalling.TypeCall), e.doc.ID}, "booth": {expect[signalling.Call](booth, signalling.TypeCall), e.booth.ID}} {
		ice := c.m.ICEServers
		if len(ice) != 2 || ice[0].URLs[0] != stun.URLs[0] || ice[1].Username != "9999999999:"+c.id || ice[1].Credential != "pw-"+c.id {
			t.Errorf("%s's ICE servers: got %+v, want the STUN server and the relay with its own credentials (%s)", who, ice, c.id)
		}
	}
}
