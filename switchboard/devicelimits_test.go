package switchboard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

func TestThrottlePacesEachDeviceAndType(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	th := newThrottle(DeviceLimits{
		Rates: map[signalling.Type]Rate{signalling.TypeHelp: {PerSecond: 1, Burst: 2}},
		Other: Rate{PerSecond: 1, Burst: 1},
	}.withDefaults(), clock)
	ctx := context.Background()
	for i := range 2 {
		if waited, err := th.wait(ctx, "booth-1", signalling.TypeHelp); waited || err != nil {
			t.Fatalf("help %d within the burst: got waited %v, %v; want at once", i+1, waited, err)
		}
	}
	// Another device and another type have buckets of their own.
	if waited, _ := th.wait(ctx, "booth-2", signalling.TypeHelp); waited {
		t.Errorf("another device's first help waited")
	}
	if waited, _ := th.wait(ctx, "booth-1", signalling.TypeEvent); waited {
		t.Errorf("booth-1's first event waited behind its help")
	}
	done := make(chan bool, 1)
	go func() {
		waited, err := th.wait(ctx, "booth-1", signalling.TypeHelp)
		done <- waited && err == nil
	}()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("the third help in a second went through without waiting")
	case <-time.After(50 * time.Millisecond):
	}
	clock.Advance(time.Second)
	if ok := <-done; !ok {
		t.Errorf("the third help: got an error or no wait, want it through after a second")
	}

	// A connection that closes while it waits gets its context's error.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := th.wait(cctx, "booth-1", signalling.TypeHelp); errc <- err }()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Errorf("wait after close: got %v, want context.Canceled", err)
	}
}

func TestLogSamplerCountsWhatItDrops(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	s := newLogSampler(clock, time.Minute, 2)
	var got []string
	for range 5 {
		ok, n := s.allow("refused")
		got = append(got, fmt.Sprintf("%v/%d", ok, n))
	}
	if ok, _ := s.allow("other kind"); !ok {
		t.Errorf("another kind was suppressed by the first")
	}
	clock.Advance(time.Minute)
	ok, n := s.allow("refused")
	got = append(got, fmt.Sprintf("%v/%d", ok, n))
	if g, want := strings.Join(got, " "), "true/0 true/0 false/0 false/0 false/0 true/3"; g != want {
		t.Errorf("allow: got %s, want %s", g, want)
	}
}

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
	if ack := sendEvent(booth, "w", e.appt.ID, signalling.EventWindowOpen, t0); ack.Refused != "" {
		t.Fatalf("window_open: got %+v", ack)
	}
	for i := range 50 {
		ack := sendEvent(booth, fmt.Sprintf("again-%d", i), e.appt.ID, signalling.EventWindowOpen, t0)
		if ack.Refused == "" || ack.Status != store.StatusWindowOpen {
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
	evs := []string{signalling.EventArrive, signalling.EventLeave}
	for i := range 4 {
		if ack := sendEvent(booth, fmt.Sprintf("l-%d", i), e.appt.ID, evs[i%2], t0); ack.Refused != "" {
			t.Fatalf("%s (%d) under the cap: got %+v", evs[i%2], i, ack)
		}
	}
	// ...until the appointment holds 8 of the booth's events in all.
	ack := sendEvent(booth, "over", e.appt.ID, signalling.EventArrive, t0)
	if !strings.Contains(ack.Refused, "already holds 8 events from its booth") {
		t.Errorf("event over the cap: got %+v, want refused naming the cap", ack)
	}
	a, err := e.st.Appointment(e.appt.ID)
	must(t, err)
	h, err := e.st.History(e.appt.ID)
	must(t, err)
	if len(h) != 8 || a.BoothEvents != 8 || a.RefusedEvents != 3 || a.Status != store.StatusWindowOpen {
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
	for _, ev := range []string{signalling.EventWindowOpen, signalling.EventArrive} {
		ack := sendEvent(booth, "early-"+ev, later.ID, ev, t0)
		if ack.Refused == "" || ack.Status != store.StatusScheduled {
			t.Errorf("replayed %s 3 h early: got %+v, want refused, still scheduled", ev, ack)
		}
	}
	if got := e.history(later.ID); got != "" {
		t.Errorf("history: got %q, want nothing kept", got)
	}
	// After the appointment's end, too.
	e.clock.Advance(4 * time.Hour)
	booth.send(signalling.TypeEvent, &signalling.Event{Key: "late", AppointmentID: later.ID, Event: signalling.EventWindowOpen, At: e.clock.Now()})
	expect[signalling.Schedule](booth, signalling.TypeSchedule) // the hourly refresh
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
		booth.send(signalling.TypeEvent, &signalling.Event{Key: key, AppointmentID: e.otherAppt.ID, Event: signalling.EventArrive, At: t0})
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
	for quiet := false; !quiet; {
		select {
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
			quiet = true
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

// A full send queue holds back snapshots, newest per kind, and disconnects the reader only
// for a message that is not one.
func TestClientSendOverflowKeepsNewestSnapshot(t *testing.T) {
	cancelled := 0
	c := &client{out: make(chan outMsg, 2), overflow: map[string]outMsg{}, ovKick: make(chan struct{}, 1),
		cancel: func() { cancelled++ }, log: slog.New(slog.DiscardHandler)}
	q := func(n int) *signalling.Queue { return &signalling.Queue{Entries: make([]signalling.QueueEntry, n)} }
	help := func(dev string, on bool) *signalling.Help { return &signalling.Help{DeviceID: dev, Requested: on} }
	c.send(signalling.TypeQueue, q(1))
	c.send(signalling.TypeQueue, q(2)) // out is full
	c.send(signalling.TypeQueue, q(3))
	c.send(signalling.TypeHelp, help("booth-1", true))
	c.send(signalling.TypeHelp, help("booth-1", false))
	c.send(signalling.TypeHelp, help("booth-2", true))
	c.send(signalling.TypeQueue, q(4))
	if cancelled != 0 {
		t.Fatalf("snapshots disconnected the client %d times", cancelled)
	}
	<-c.out
	c.send(signalling.TypeQueue, q(5)) // out has room, but an older queue waits: it must not overtake
	if len(c.out) != 1 {
		t.Errorf("a queue overtook the overflow: out holds %d", len(c.out))
	}
	got := map[string]string{}
	for _, m := range c.takeOverflow() {
		switch b := m.body.(type) {
		case *signalling.Queue:
			got["queue"] = fmt.Sprint(len(b.Entries))
		case *signalling.Help:
			got[b.DeviceID] = fmt.Sprint(b.Requested)
		}
	}
	if want := map[string]string{"queue": "5", "booth-1": "false", "booth-2": "true"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("overflow: got %v, want %v", got, want)
	}
	c.send(signalling.TypeEventAck, &signalling.EventAck{Key: "k"})
	c.send(signalling.TypeEventAck, &signalling.EventAck{Key: "k2"})
	if cancelled != 1 {
		t.Errorf("an ack into a full queue: got %d disconnects, want 1", cancelled)
	}
}

func TestAppointmentEventsPaged(t *testing.T) {
	e := newEnvWith(t, fastDevices(0, 0))
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	sendEvent(booth, "w", e.appt.ID, signalling.EventWindowOpen, t0)
	evs := []string{signalling.EventArrive, signalling.EventLeave}
	for i := range 150 {
		sendEvent(booth, fmt.Sprintf("k%d", i), e.appt.ID, evs[i%2], t0)
	}
	path := "/api/v1/appointments/" + e.appt.ID + "/events"
	var page historyResponse
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
	page = historyResponse{}
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
	expect[signalling.Error](booth, signalling.TypeError) // the first is in once this is answered
	before := report()
	a0, err := e.st.Appointment(e.appt.ID)
	must(t, err)
	// As many as a connection may have refused before it is closed (TestHubClosesAfterTooManyRefusals);
	// a device that reconnects to go on is still paced, per device, by DeviceLimits.
	for i := range maxRefusals - 1 {
		q := &signalling.Quality{AppointmentID: e.appt.ID, CallID: store.NewID(), BitrateKbps: 1, PacketLossPct: 90, Seconds: 2}
		want := signalling.CodeNotInCall
		if i%3 == 0 {
			q.CallID, want = callID, signalling.CodeConflict // the real call, again
		}
		booth.send(signalling.TypeQuality, q)
		if m := expect[signalling.Error](booth, signalling.TypeError); m.Code != want {
			t.Fatalf("quality %d (%s): got %s %q, want %s", i, q.CallID, m.Code, m.Message, want)
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
