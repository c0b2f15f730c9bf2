package hub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

func TestStaffState(t *testing.T) {
	for _, tt := range []struct {
		name        string
		f           deviceFacts
		want        signalling.BoothState
		wantProblem string
	}{
		{"not connected", deviceFacts{}, signalling.StateOffline, ""},
		{"not connected, help standing", deviceFacts{help: true}, signalling.StateOffline, ""},
		{"connected but silent", deviceFacts{connected: true, silent: true, reported: signalling.StateIdle}, signalling.StateOffline, ""},
		{"connected, no heartbeat yet", deviceFacts{connected: true}, signalling.StateIdle, ""},
		{"idle", deviceFacts{connected: true, reported: signalling.StateIdle}, signalling.StateIdle, ""},
		{"help over a call", deviceFacts{connected: true, help: true, inCall: true}, signalling.StateHelp, ""},
		{"help over a fault", deviceFacts{connected: true, help: true, reported: signalling.StateFault, problem: "camera"}, signalling.StateHelp, ""},
		{"in a call, waiting entry too", deviceFacts{connected: true, waiting: true, inCall: true}, signalling.StateInCall, ""},
		{"waiting", deviceFacts{connected: true, waiting: true, reported: signalling.StateIdle}, signalling.StateWaiting, ""},
		{"fault", deviceFacts{connected: true, reported: signalling.StateFault, problem: "camera: no frame"}, signalling.StateFault, "camera: no frame"},
		{"a booth's stale in_call is not trusted", deviceFacts{connected: true, reported: signalling.StateInCall}, signalling.StateIdle, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := staffState(tt.f)
			if got != tt.want || problem != tt.wantProblem {
				t.Errorf("got %s %q, want %s %q", got, problem, tt.want, tt.wantProblem)
			}
		})
	}
}

// staffConn is a test's signalling connection that reads in the background (so that it
// answers pings) and keeps what it was sent.
type staffConn struct {
	t    *testing.T
	ws   *websocket.Conn
	c    *signalling.Conn
	msgs chan recvd
}

type recvd struct {
	t    signalling.Type
	body any
}

// dialStaff connects to the bench's hub as clinician cl, a staff station when staff is set.
func (b *bench) dialStaff(cl *store.Clinician, staff bool) *staffConn {
	b.t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := b.hub.Serve(w, r, Peer{Identity: Identity{Clinician: cl}, Addr: "test",
			Open: func() (Lease, bool) { return newFakeLease(), true }}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	b.t.Cleanup(func() { b.hub.Close(); ts.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), nil)
	if err != nil {
		b.t.Fatalf("dial: %v", err)
	}
	b.t.Cleanup(func() { ws.CloseNow() })
	c := signalling.NewConn(ws)
	if err := c.Send(ctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleClinician, Agent: "test", Staff: staff}); err != nil {
		b.t.Fatal(err)
	}
	return b.readAll(ws, c)
}

// readAll reads c (on ws) in the background until it closes.
func (b *bench) readAll(ws *websocket.Conn, c *signalling.Conn) *staffConn {
	b.t.Helper()
	sc := &staffConn{t: b.t, ws: ws, c: c, msgs: make(chan recvd, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(sc.msgs)
		for {
			env, body, err := sc.c.Recv(context.Background())
			if err != nil {
				return
			}
			sc.msgs <- recvd{env.Type, body}
		}
	}()
	b.t.Cleanup(func() { ws.CloseNow(); <-done })
	return sc
}

// wait reads until a message of type typ for which ok holds, and returns its body.
func (sc *staffConn) wait(what string, typ signalling.Type, ok func(any) bool) any {
	sc.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, open := <-sc.msgs:
			if !open {
				sc.t.Fatalf("waiting for %s: the connection closed", what)
			}
			if m.t == typ && ok(m.body) {
				return m.body
			}
		case <-timeout:
			sc.t.Fatalf("waiting for %s: none came in 5 s", what)
		}
	}
}

// waitDevice waits for a devices view in which device id shows as cond wants.
func (sc *staffConn) waitDevice(what, id string, cond func(signalling.DeviceStatus) bool) signalling.DeviceStatus {
	sc.t.Helper()
	var got signalling.DeviceStatus
	sc.wait(what, signalling.TypeDevices, func(body any) bool {
		for _, d := range body.(*signalling.Devices).Devices {
			if d.ID == id && cond(d) {
				got = d
				return true
			}
		}
		return false
	})
	return got
}

func isState(st signalling.BoothState) func(signalling.DeviceStatus) bool {
	return func(d signalling.DeviceStatus) bool { return d.State == st }
}

// TestStaffViewFollowsTheBooth: a staff station sees the site's booth offline, idle once
// it connects, help when Help is pressed, acknowledged by name once a member of staff
// says they are coming (the booth is told who), and offline when it goes, with its help
// request still standing.
func TestStaffViewFollowsTheBooth(t *testing.T) {
	b := newBench(t)
	sam := &store.Clinician{ID: "cl1", Username: "sam", Name: "Sam Porter", ClinicID: b.booth.ClinicID}
	staff := b.dialStaff(sam, true)
	staff.waitDevice("the booth, offline", b.booth.ID, isState(signalling.StateOffline))

	booth := b.readAll(b.dial())
	staff.waitDevice("the booth, idle", b.booth.ID, isState(signalling.StateIdle))

	if err := booth.c.Send(context.Background(), signalling.TypeHelp, &signalling.Help{Requested: true}); err != nil {
		t.Fatal(err)
	}
	d := staff.waitDevice("help", b.booth.ID, isState(signalling.StateHelp))
	if d.Help == nil || !d.Help.Since.Equal(t0) || d.Help.AcknowledgedBy != "" {
		t.Fatalf("help: got %+v, want standing since %v, not acknowledged", d.Help, t0)
	}
	booth.wait("the echo", signalling.TypeHelp, func(body any) bool { return body.(*signalling.Help).Requested })

	b.clock.Advance(20 * time.Second)
	got, first, err := b.hub.AcknowledgeHelp(b.booth.ID, sam)
	if err != nil || !first || got.AcknowledgedBy != "Sam Porter" || got.AcknowledgedAt == nil || !got.AcknowledgedAt.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("acknowledge: got %+v, %v; want by Sam Porter at +20s", got, err)
	}
	booth.wait("who is coming", signalling.TypeHelp, func(body any) bool {
		m := body.(*signalling.Help)
		return m.Requested && m.AcknowledgedBy == "Sam Porter"
	})
	staff.wait("the clinicians' help, acknowledged", signalling.TypeHelp, func(body any) bool {
		return body.(*signalling.Help).AcknowledgedBy == "Sam Porter"
	})
	staff.waitDevice("acknowledged", b.booth.ID, func(d signalling.DeviceStatus) bool {
		return d.State == signalling.StateHelp && d.Help != nil && d.Help.AcknowledgedBy == "Sam Porter"
	})

	// Help pressed again: the booth still hears who is coming.
	if err := booth.c.Send(context.Background(), signalling.TypeHelp, &signalling.Help{Requested: true}); err != nil {
		t.Fatal(err)
	}
	booth.wait("who is coming, again", signalling.TypeHelp, func(body any) bool {
		return body.(*signalling.Help).AcknowledgedBy == "Sam Porter"
	})

	booth.ws.Close(websocket.StatusNormalClosure, "bye")
	d = staff.waitDevice("the booth gone", b.booth.ID, isState(signalling.StateOffline))
	if d.Help == nil || d.Help.AcknowledgedBy != "Sam Porter" {
		t.Errorf("offline: got help %+v, want it still standing, acknowledged", d.Help)
	}
}

// TestStaffViewHelpOver: End on the booth ends the request, and the view goes back to idle.
func TestStaffViewHelpOver(t *testing.T) {
	b := newBench(t)
	staff := b.dialStaff(&store.Clinician{ID: "cl1", Name: "Sam", ClinicID: b.booth.ClinicID}, true)
	staff.waitDevice("the booth, offline", b.booth.ID, isState(signalling.StateOffline)) // its hello is in
	booth := b.readAll(b.dial())
	for _, requested := range []bool{true, false} {
		if err := booth.c.Send(context.Background(), signalling.TypeHelp, &signalling.Help{Requested: requested}); err != nil {
			t.Fatal(err)
		}
	}
	staff.waitDevice("help", b.booth.ID, isState(signalling.StateHelp))
	d := staff.waitDevice("help over", b.booth.ID, isState(signalling.StateIdle))
	if d.Help != nil {
		t.Errorf("got help %+v, want none", d.Help)
	}
	if _, _, err := b.hub.AcknowledgeHelp(b.booth.ID, &store.Clinician{Name: "Sam", ClinicID: b.booth.ClinicID}); !errors.Is(err, ErrNoHelp) {
		t.Errorf("acknowledge after help is over: got %v, want ErrNoHelp", err)
	}
}

// TestAcknowledgeHelpRefusals: no request standing, another site's clinician, and a
// second acknowledgement (which keeps the first).
func TestAcknowledgeHelpRefusals(t *testing.T) {
	b := newBench(t)
	sam := &store.Clinician{ID: "cl1", Name: "Sam", ClinicID: b.booth.ClinicID}
	if _, _, err := b.hub.AcknowledgeHelp(b.booth.ID, sam); !errors.Is(err, ErrNoHelp) {
		t.Fatalf("no request: got %v, want ErrNoHelp", err)
	}
	staff := b.dialStaff(sam, false) // someone must be told, or the booth is refused
	staff.wait("the queue", signalling.TypeQueue, func(any) bool { return true })
	ws, c := b.dial()
	booth := b.readAll(ws, c)
	if err := booth.c.Send(context.Background(), signalling.TypeHelp, &signalling.Help{Requested: true}); err != nil {
		t.Fatal(err)
	}
	staff.wait("help", signalling.TypeHelp, func(any) bool { return true })
	other := &store.Clinician{ID: "cl2", Name: "Other", ClinicID: "another-clinic"}
	if _, _, err := b.hub.AcknowledgeHelp(b.booth.ID, other); !errors.Is(err, ErrNotFound) {
		t.Errorf("another site's clinician: got %v, want ErrNotFound", err)
	}
	if _, first, err := b.hub.AcknowledgeHelp(b.booth.ID, sam); err != nil || !first {
		t.Fatalf("first acknowledgement: got first %v, %v", first, err)
	}
	got, first, err := b.hub.AcknowledgeHelp(b.booth.ID, &store.Clinician{ID: "cl3", Name: "Alex", ClinicID: b.booth.ClinicID})
	if err != nil || first || got.AcknowledgedBy != "Sam" {
		t.Errorf("second acknowledgement: got %+v, %v; want the first's, by Sam", got, err)
	}
	fleet, _, err := b.hub.AcknowledgeHelp(b.booth.ID, &store.Clinician{ID: "it", Name: "IT", Admin: true})
	if err != nil || fleet.AcknowledgedBy != "Sam" {
		t.Errorf("fleet admin: got %+v, %v; want the first's, by Sam", fleet, err)
	}
}

// TestStaffViewScopedToTheSite: a staff station sees its own clinic's devices only; a
// fleet admin's sees every clinic's; a clinician who did not ask is sent no view.
func TestStaffViewScopedToTheSite(t *testing.T) {
	b := newBench(t)
	other := store.Clinic{Name: "Lakeside"}
	if err := b.st.CreateClinic(&other); err != nil {
		t.Fatal(err)
	}
	otherBooth := store.Device{Name: "lake-1", ClinicID: other.ID, Role: device.RoleBooth, CreatedAt: t0}
	if err := b.st.CreateDevice(&otherBooth); err != nil {
		t.Fatal(err)
	}
	ids := func(v *signalling.Devices) []string {
		var out []string
		for _, d := range v.Devices {
			out = append(out, d.ID)
		}
		return out
	}
	mine := b.dialStaff(&store.Clinician{ID: "cl1", Name: "Sam", ClinicID: b.booth.ClinicID}, true)
	v := mine.wait("the view", signalling.TypeDevices, func(any) bool { return true }).(*signalling.Devices)
	if got := ids(v); len(got) != 1 || got[0] != b.booth.ID || v.ClinicID != b.booth.ClinicID {
		t.Errorf("site staff: got %v of %q, want only %s", got, v.ClinicID, b.booth.ID)
	}
	fleet := b.dialStaff(&store.Clinician{ID: "it", Name: "IT", Admin: true}, true)
	v = fleet.wait("the view", signalling.TypeDevices, func(any) bool { return true }).(*signalling.Devices)
	if got := ids(v); len(got) != 2 {
		t.Errorf("fleet admin: got %v, want both sites' booths", got)
	}
	plain := b.dialStaff(&store.Clinician{ID: "cl4", Name: "Dr", ClinicID: b.booth.ClinicID}, false)
	plain.wait("the queue", signalling.TypeQueue, func(any) bool { return true })
	b.readAll(b.dial())
	mine.waitDevice("the booth, idle", b.booth.ID, isState(signalling.StateIdle))
	fleet.waitDevice("the booth, idle", b.booth.ID, isState(signalling.StateIdle))
	select {
	case m := <-plain.msgs:
		if m.t == signalling.TypeDevices {
			t.Errorf("a clinician who did not ask was sent %s", m.t)
		}
	case <-time.After(100 * time.Millisecond):
	}
}

// TestStaffViewSilentBoothGoesOffline: a booth whose connection stays up but whose
// heartbeats stop shows offline once OfflineAfter has passed, found by the staff
// connection's ping loop on the injected clock; a heartbeat brings it back.
func TestStaffViewSilentBoothGoesOffline(t *testing.T) {
	b := newBench(t)
	staff := b.dialStaff(&store.Clinician{ID: "cl1", Name: "Sam", ClinicID: b.booth.ClinicID}, true)
	ws, c := b.dial()
	booth := b.readAll(ws, c)
	hb := &signalling.Heartbeat{Version: "1", State: signalling.StateFault, LastError: "camera: no frame in 5s"}
	if err := booth.c.Send(context.Background(), signalling.TypeHeartbeat, hb); err != nil {
		t.Fatal(err)
	}
	d := staff.waitDevice("the fault", b.booth.ID, isState(signalling.StateFault))
	if d.Problem != hb.LastError {
		t.Errorf("problem: got %q, want %q", d.Problem, hb.LastError)
	}
	for i := 0; i < int(OfflineAfter/defaultPingInterval)+1; i++ {
		b.clock.BlockUntilContext(context.Background(), 2) //nolint:errcheck // the two ping loops
		b.clock.Advance(defaultPingInterval)
	}
	staff.waitDevice("the booth silent", b.booth.ID, isState(signalling.StateOffline))
	hb.State, hb.LastError = signalling.StateIdle, ""
	if err := booth.c.Send(context.Background(), signalling.TypeHeartbeat, hb); err != nil {
		t.Fatal(err)
	}
	staff.waitDevice("the booth back", b.booth.ID, isState(signalling.StateIdle))
}

// TestStaffViewBoothThatStopsAnsweringGoesOffline: a booth that stops answering pings
// (power or network gone, nothing closed) is dropped by its ping loop within two
// PingIntervals, 30 s by default, and the staff station sees it offline at once.
func TestStaffViewBoothThatStopsAnsweringGoesOffline(t *testing.T) {
	const interval = 200 * time.Millisecond // also the real-time bound on a pong
	b := newBenchWith(t, Config{PingInterval: interval})
	staff := b.dialStaff(&store.Clinician{ID: "cl1", Name: "Sam", ClinicID: b.booth.ClinicID}, true)
	b.dial() // from here on nothing reads the booth's connection: it cannot answer a ping
	staff.waitDevice("the booth, idle", b.booth.ID, isState(signalling.StateIdle))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.clock.BlockUntilContext(ctx, 2); err != nil { // the two ping loops' tickers
		t.Fatal(err)
	}
	b.clock.Advance(interval) // the ping goes out; its pong does not come within interval
	staff.waitDevice("the booth offline after one unanswered ping", b.booth.ID, isState(signalling.StateOffline))
	if got := b.clock.Since(t0); got > 2*interval {
		t.Errorf("offline after %v on the hub's clock, want at most 2 × PingInterval = %v", got, 2*interval)
	}
}
