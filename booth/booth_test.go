package booth

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// wait bounds every wait on the booth in real time; generous for a busy 2-core machine
// under the race detector. Tests never sleep for correctness.
const wait = 10 * time.Second

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// checkGoroutines fails the test if goroutines started during it are still running when
// its cleanups have finished. Register it first so it runs last.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("got %d goroutines after the test, want at most %d:\n%s", runtime.NumGoroutine(), before, buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// ---- fake switchboard ----

type msg struct {
	typ  signalling.Type
	body any
}

type sbConn struct {
	c    *signalling.Conn
	msgs chan msg // everything the booth sent after hello
}

func (sc *sbConn) send(t *testing.T, typ signalling.Type, body any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := sc.c.Send(ctx, typ, body); err != nil {
		t.Fatalf("switchboard send %s: %v", typ, err)
	}
}

// next returns the next message the booth sent, which must be of type typ.
func (sc *sbConn) next(t *testing.T, typ signalling.Type) any {
	t.Helper()
	select {
	case m, ok := <-sc.msgs:
		if !ok {
			t.Fatalf("connection closed, want a %s message", typ)
		}
		if m.typ != typ {
			t.Fatalf("got %s %+v, want %s", m.typ, m.body, typ)
		}
		return m.body
	case <-time.After(wait):
		t.Fatalf("no message, want %s", typ)
	}
	return nil
}

// none checks that the booth sends nothing for a moment. It can only show that something
// did not happen yet, so tests use it after the booth has provably processed the event.
func (sc *sbConn) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-sc.msgs:
		t.Fatalf("got %s %+v, want no message", m.typ, m.body)
	case <-time.After(100 * time.Millisecond):
	}
}

type fakeSwitchboard struct {
	srv   *httptest.Server
	token string
	clock clockwork.Clock
	conns chan *sbConn
	down  atomic.Bool // answer 503: the switchboard is unreachable

	mu       sync.Mutex
	schedule []signalling.Appointment
	open     []*sbConn
	events   []signalling.Event // every event received, duplicates included
	applied  map[string]bool
	// heartbeats are every heartbeat received, in order.
	heartbeats []signalling.Heartbeat
	wg         sync.WaitGroup
}

// recorded returns the events the fake has received, as "appointment:event" (a replayed
// duplicate appears twice; the real switchboard applies it once).
func (sb *fakeSwitchboard) recorded() []string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	var out []string
	for _, e := range sb.events {
		out = append(out, e.AppointmentID+":"+string(e.Event))
	}
	return out
}

func newFakeSwitchboard(t *testing.T, clock clockwork.Clock, appts ...signalling.Appointment) *fakeSwitchboard {
	sb := &fakeSwitchboard{token: "device-token", clock: clock, conns: make(chan *sbConn, 16), schedule: appts}
	sb.srv = httptest.NewServer(http.HandlerFunc(sb.serve))
	t.Cleanup(sb.close)
	return sb
}

func (sb *fakeSwitchboard) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/signal" {
		http.NotFound(w, r)
		return
	}
	if sb.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+sb.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	sb.wg.Add(1)
	defer sb.wg.Done()
	c := signalling.NewConn(ws)
	defer c.CloseNow()
	ctx := context.Background()
	_, body, err := c.Recv(ctx)
	if h, ok := body.(*signalling.Hello); err != nil || !ok || h.Role != signalling.RoleDevice || !strings.HasPrefix(h.Agent, "boothd ") {
		return
	}
	sb.mu.Lock()
	sched := append([]signalling.Appointment(nil), sb.schedule...)
	sc := &sbConn{c: c, msgs: make(chan msg, 64)}
	sb.open = append(sb.open, sc)
	sb.mu.Unlock()
	if c.Send(ctx, signalling.TypeWelcome, &signalling.Welcome{Role: signalling.RoleDevice, ID: "dev-1", ClinicID: "clinic-1",
		ClinicPhone: "01632 960 123", ServerTime: sb.clock.Now()}) != nil {
		return
	}
	if c.Send(ctx, signalling.TypeSchedule, &signalling.Schedule{Appointments: sched}) != nil {
		return
	}
	sb.conns <- sc
	defer close(sc.msgs)
	for {
		env, body, err := c.Recv(ctx)
		if errors.Is(err, signalling.ErrProtocol) {
			continue
		}
		if err != nil {
			return
		}
		// Heartbeats are kept apart, for the tests of them, so the others see the
		// messages of the appointment flow only.
		if hb, ok := body.(*signalling.Heartbeat); ok {
			sb.mu.Lock()
			sb.heartbeats = append(sb.heartbeats, *hb)
			sb.mu.Unlock()
			continue
		}
		// Outbox events are acknowledged like the switchboard does; an arrive or leave
		// among them is handed to the test as the live message it stands for.
		if e, ok := body.(*signalling.Event); ok {
			sb.mu.Lock()
			sb.events = append(sb.events, *e)
			dup := sb.applied[e.Key]
			if sb.applied == nil {
				sb.applied = map[string]bool{}
			}
			sb.applied[e.Key] = true
			sb.mu.Unlock()
			if c.Send(ctx, signalling.TypeEventAck, &signalling.EventAck{Key: e.Key, Duplicate: dup}) != nil {
				return
			}
			switch {
			case dup:
			case e.Event == appointment.Arrive:
				sc.msgs <- msg{signalling.TypeArrive, &signalling.Arrive{AppointmentID: e.AppointmentID}}
			case e.Event == appointment.Leave:
				sc.msgs <- msg{signalling.TypeLeave, &signalling.Leave{AppointmentID: e.AppointmentID}}
			}
			continue
		}
		sc.msgs <- msg{env.Type, body}
	}
}

func (sb *fakeSwitchboard) conn(t *testing.T) *sbConn {
	t.Helper()
	select {
	case sc := <-sb.conns:
		return sc
	case <-time.After(wait):
		t.Fatal("the booth did not connect")
	}
	return nil
}

func (sb *fakeSwitchboard) close() {
	sb.mu.Lock()
	for _, sc := range sb.open {
		sc.c.CloseNow()
	}
	sb.mu.Unlock()
	sb.srv.Close()
	sb.wg.Wait()
}

// ---- fake media ----

type fakeCaller struct {
	started chan *fakeCall
	err     error
	noMute  atomic.Bool // the calls it starts cannot mute (not Muters)
}

func newFakeCaller() *fakeCaller { return &fakeCaller{started: make(chan *fakeCall, 4)} }

func (f *fakeCaller) StartCall(ctx context.Context, p CallParams) (ActiveCall, error) {
	if f.err != nil {
		return nil, f.err
	}
	c := &fakeCall{params: p, done: make(chan struct{}), connected: make(chan struct{}), pathKick: make(chan struct{}, 1)}
	f.started <- c
	if f.noMute.Load() {
		return struct{ ActiveCall }{c}, nil
	}
	return c, nil
}

func (f *fakeCaller) call(t *testing.T) *fakeCall {
	t.Helper()
	select {
	case c := <-f.started:
		return c
	case <-time.After(wait):
		t.Fatal("no call started")
	}
	return nil
}

const fakeAnswer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=booth\r\n"

type fakeCall struct {
	params    CallParams
	done      chan struct{} // closed by a test: the media failed
	connected chan struct{}

	mu      sync.Mutex
	offer   string
	cands   []signalling.Candidate
	stats   CallStats
	closed  bool
	muted   bool
	muteErr error // SetMuted fails with it

	pathKick chan struct{}
	broken   signalling.RestartReason
	restarts int // restart offers made
}

// breakPath sets the path's state, as pion's callback does through booth/mediacall.
func (c *fakeCall) breakPath(r signalling.RestartReason) {
	c.mu.Lock()
	c.broken = r
	c.mu.Unlock()
	select {
	case c.pathKick <- struct{}{}:
	default:
	}
}

func (c *fakeCall) PathChanged() <-chan struct{} { return c.pathKick }

func (c *fakeCall) PathBroken() signalling.RestartReason {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

func (c *fakeCall) RestartOffer(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restarts++
	return "v=0\r\nrestart", nil
}

func (c *fakeCall) Answer(ctx context.Context, offer string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offer = offer
	return fakeAnswer, nil
}

func (c *fakeCall) AddCandidate(cand signalling.Candidate) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cands = append(c.cands, cand)
	return nil
}

// Offer and SetAnswer make fakeCall an Offerer, for the clinic-room role.
func (c *fakeCall) Offer(ctx context.Context) (string, error) { return fakeAnswer, nil }

func (c *fakeCall) SetAnswer(sdp string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offer = sdp // the remote description, whichever side
	return nil
}

func (c *fakeCall) Connected() <-chan struct{} { return c.connected }
func (c *fakeCall) Done() <-chan struct{}      { return c.done }

func (c *fakeCall) Stats() CallStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *fakeCall) SetMuted(m bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.muteErr != nil {
		return c.muteErr
	}
	c.muted = m
	return nil
}

func (c *fakeCall) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *fakeCall) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// ---- harness ----

type harness struct {
	t      *testing.T
	clock  *clockwork.FakeClock
	sb     *fakeSwitchboard
	caller *fakeCaller
	sim    *button.Sim
	booth  *Booth
	reg    *prometheus.Registry
	store  Store
}

type opts struct {
	mode     device.JoinMode
	role     device.Role
	store    Store  // nil: a MemStore (or a BoltStore in stateDir)
	down     bool   // the switchboard is unreachable at first
	stateDir string // "" uses a MemStore
	url      string // "" uses the fake switchboard
	token    string // "" uses the one the fake switchboard accepts
	appts    []signalling.Appointment
	staff    bool // a staff call is wired on site (Config.StaffCall)
	remote   RemoteConfig
	health   HealthSource
	diag     Diagnostics
	netChg   <-chan struct{}
	// moved: the switchboard is first dialled at a dead address, and Rediscover gives its
	// real one.
	moved bool
}

func appt(id string, start time.Time) signalling.Appointment {
	return signalling.Appointment{ID: id, ClinicID: "clinic-1", DeviceID: "dev-1", Patient: "A. Patient",
		Start: start, End: start.Add(20 * time.Minute), Status: "booked"}
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func start(t *testing.T, o opts) *harness {
	t.Helper()
	h := &harness{t: t, clock: clockwork.NewFakeClockAt(t0), caller: newFakeCaller(), reg: prometheus.NewRegistry()}
	h.sim = button.NewSim(h.clock)
	h.sb = newFakeSwitchboard(t, h.clock, o.appts...)
	h.sb.down.Store(o.down)
	url := h.sb.srv.URL
	if o.url != "" {
		url = o.url
	}
	var rediscover func() string
	if o.moved {
		real := url
		url = "http://127.0.0.1:1"
		rediscover = func() string { return real }
	}
	if o.mode == "" {
		o.mode = device.JoinAuto
	}
	deps := Deps{
		Caller:       h.caller,
		Buttons:      h.sim,
		Clock:        h.clock,
		Logger:       slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:   h.reg,
		HTTPClient:   h.sb.srv.Client(),
		RemoteConfig: o.remote,
		Health:       o.health,
		Diagnostics:  o.diag,
		// Nil unless the test gives one.
		NetworkChanges: o.netChg,
	}
	switch {
	case o.store != nil:
		h.store = o.store
		deps.Store = h.store
	case o.stateDir == "":
		h.store = NewMemStore()
		deps.Store = h.store
	}
	b, err := New(Config{
		SwitchboardURL: url,
		Rediscover:     rediscover,
		Token:          cmp.Or(o.token, h.sb.token),
		DeviceName:     "test booth",
		JoinMode:       o.mode,
		Role:           o.role,
		StaffCall:      o.staff,
		JoinWindow:     10 * time.Minute,
		StateDir:       o.stateDir,
		ReconnectMin:   time.Second,
		ReconnectMax:   4 * time.Second,
	}, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.booth = b
	if h.store == nil {
		h.store = b.store
	}
	runErr := make(chan error, 1)
	go func() { runErr <- b.Run(context.Background()) }()
	t.Cleanup(func() {
		h.sim.Close()
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-runErr; err != nil && !errors.Is(err, ErrClosed) { // ErrClosed: closed before Run began
			t.Errorf("run: got %v, want nil", err)
		}
	})
	return h
}

func (h *harness) waitFor(what string, cond func(Snapshot) bool) Snapshot {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := h.booth.WaitFor(ctx, cond)
	if err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
	return s
}

func (h *harness) waitState(st State) Snapshot {
	h.t.Helper()
	return h.waitFor(st.String(), func(s Snapshot) bool { return s.State == st })
}

func (h *harness) press(b button.Button) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sim.PressContext(ctx, b, button.Press); err != nil {
		h.t.Fatalf("press %s: %v", b, err)
	}
}

// hold holds a button down past the long-press threshold.
func (h *harness) hold(b button.Button) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.sim.PressContext(ctx, b, button.LongPress); err != nil {
		h.t.Fatalf("hold %s: %v", b, err)
	}
}

// blockUntil waits until n timers or tickers are waiting on the fake clock, so an Advance
// cannot slip in before the booth has set the timer it is meant to fire.
func (h *harness) blockUntil(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, n); err != nil {
		h.t.Fatalf("waiting for %d clock waiters: %v", n, err)
	}
}

// inCall brings a booth with an appointment starting now into a call and returns the
// switchboard connection and the call.
func (h *harness) inCall() (*sbConn, *fakeCall) {
	h.t.Helper()
	sc := h.sb.conn(h.t)
	if got := sc.next(h.t, signalling.TypeArrive).(*signalling.Arrive); got.AppointmentID != "a1" {
		h.t.Fatalf("arrive: got %q, want a1", got.AppointmentID)
	}
	sc.send(h.t, signalling.TypeCall, &signalling.Call{CallID: "call-1", AppointmentID: "a1", Role: signalling.CallAnswerer, Peer: "Dr Who"})
	call := h.caller.call(h.t)
	h.waitState(InCall)
	return sc, call
}

// connectedCall is inCall with the offer answered and the media connected.
func (h *harness) connectedCall() (*sbConn, *fakeCall) {
	h.t.Helper()
	sc, call := h.inCall()
	sc.send(h.t, signalling.TypeOffer, &signalling.SDP{CallID: "call-1", SDP: "v=0\r\noffer"})
	sc.next(h.t, signalling.TypeAnswer)
	close(call.connected)
	h.waitFor("connected", func(s Snapshot) bool { return s.Connected })
	return sc, call
}

// ---- tests ----

func TestScheduleSurvivesRestart(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	{
		h := start(t, opts{stateDir: dir, appts: []signalling.Appointment{appt("a1", t0.Add(30*time.Minute))}})
		h.sb.conn(t)
		// The welcome's phone number is there for the fault screen.
		h.waitFor("the clinic's phone", func(s Snapshot) bool { return s.ClinicPhone == "01632 960 123" })
		deadline := time.Now().Add(wait)
		for {
			got, err := h.booth.Appointments()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 1 && got[0].ID == "a1" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("got %v, want appointment a1 stored", got)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := h.booth.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The switchboard is unreachable after the restart; the schedule comes from disk.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	h := start(t, opts{stateDir: dir, url: dead.URL})
	got, err := h.booth.Appointments()
	if err != nil || len(got) != 1 || got[0].ID != "a1" {
		t.Fatalf("after restart: got %v, %v, want a1", got, err)
	}
	h.waitFor("idle and offline", func(s Snapshot) bool { return s.State == Idle && s.Offline })
	h.blockUntil(2) // the window-opening timer and the link's backoff timer
	h.clock.Advance(20 * time.Minute)
	if s := h.waitState(JoinWindow); s.AppointmentID != "a1" || !s.Offline {
		t.Errorf("got %+v, want join window for a1 while offline", s)
	}
}

func TestAutoModeArrivesAtStartTime(t *testing.T) {
	checkGoroutines(t)
	startAt := t0.Add(5 * time.Minute)
	h := start(t, opts{mode: device.JoinAuto, appts: []signalling.Appointment{appt("a1", startAt)}})
	sc := h.sb.conn(t)
	h.waitFor("join window, online", func(s Snapshot) bool { return s.State == JoinWindow && !s.Offline && s.AppointmentID == "a1" })

	h.blockUntil(1) // the booth's timer for the start time
	h.clock.Advance(5*time.Minute - time.Second)
	// The start-time timer has not fired; the booth must not have arrived.
	sc.none(t)
	if s := h.booth.Snapshot(); s.State != JoinWindow {
		t.Fatalf("one second before the start: got %v, want join_window", s.State)
	}

	h.clock.Advance(time.Second)
	got := sc.next(t, signalling.TypeArrive).(*signalling.Arrive)
	if got.AppointmentID != "a1" {
		t.Errorf("arrive: got %q, want a1", got.AppointmentID)
	}
	h.waitState(Waiting)
	if !h.clock.Now().Equal(startAt) {
		t.Errorf("arrived at %v, want %v", h.clock.Now(), startAt)
	}
}

func TestButtonModeJoinsOnlyInWindow(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{mode: device.JoinButton, appts: []signalling.Appointment{appt("a1", t0.Add(30*time.Minute))}})
	sc := h.sb.conn(t)
	h.waitFor("online", func(s Snapshot) bool { return !s.Offline })

	h.press(button.Join)
	h.waitFor("the press to be ignored", func(s Snapshot) bool { return s.Ignored == 1 })
	sc.none(t)
	if s := h.booth.Snapshot(); s.State != Idle {
		t.Fatalf("got %v, want idle before the window", s.State)
	}

	h.blockUntil(1)
	h.clock.Advance(20 * time.Minute) // the window opens 10 minutes before the start
	h.waitState(JoinWindow)
	sc.none(t) // button mode does not arrive by itself, even at the start time
	h.blockUntil(1)
	h.clock.Advance(10 * time.Minute)
	sc.none(t)

	h.press(button.Join)
	if got := sc.next(t, signalling.TypeArrive).(*signalling.Arrive); got.AppointmentID != "a1" {
		t.Errorf("arrive: got %q, want a1", got.AppointmentID)
	}
	h.waitState(Waiting)
	if got := value(t, h.booth.metrics.presses.WithLabelValues("join", "ignored")); got != 1 {
		t.Errorf("ignored join presses metric: got %v, want 1", got)
	}
}

func TestCallAnswerCandidatesAndHangup(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, call := h.inCall()
	if call.params.CallID != "call-1" || call.params.AppointmentID != "a1" {
		t.Errorf("call params: got %+v, want call-1 for a1", call.params)
	}

	// A candidate gathered before the answer is held back until the answer has gone.
	mid := "0"
	call.params.OnCandidate(signalling.Candidate{Candidate: "candidate:1 1 udp 1 10.0.0.2 5000 typ host", SDPMid: &mid})
	sc.send(t, signalling.TypeOffer, &signalling.SDP{CallID: "call-1", SDP: "v=0\r\noffer"})
	if got := sc.next(t, signalling.TypeAnswer).(*signalling.SDP); got.SDP != fakeAnswer || got.CallID != "call-1" {
		t.Errorf("answer: got %+v, want the fake answer for call-1", got)
	}
	if got := sc.next(t, signalling.TypeCandidate).(*signalling.Candidate); got.CallID != "call-1" || !strings.HasPrefix(got.Candidate, "candidate:1") {
		t.Errorf("candidate: got %+v, want candidate:1 for call-1", got)
	}
	call.params.OnCandidate(signalling.Candidate{}) // end of candidates, sent at once now
	if got := sc.next(t, signalling.TypeCandidate).(*signalling.Candidate); got.Candidate != "" {
		t.Errorf("end of candidates: got %q, want empty", got.Candidate)
	}

	remote := signalling.Candidate{CallID: "call-1", Candidate: "candidate:9 1 udp 1 10.0.0.9 6000 typ host"}
	sc.send(t, signalling.TypeCandidate, &remote)
	sc.send(t, signalling.TypeCandidate, &signalling.Candidate{CallID: "other", Candidate: "candidate:8 1 udp 1 10.0.0.8 6000 typ host"})
	// A message after the candidates: once the booth has handled it, it has handled them.
	sc.send(t, signalling.TypeEnd, &signalling.End{CallID: "other", Reason: signalling.EndHangup})
	close(call.connected)
	h.waitFor("connected", func(s Snapshot) bool { return s.Connected })
	for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
		call.mu.Lock()
		n := len(call.cands)
		call.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	call.mu.Lock()
	if call.offer != "v=0\r\noffer" || len(call.cands) != 1 || call.cands[0].Candidate != remote.Candidate {
		t.Errorf("call got offer %q and candidates %+v, want the offer and candidate:9 only", call.offer, call.cands)
	}
	call.stats = CallStats{FramesSent: 300, FramesDecoded: 290, SendBitrateKbps: 1200, MeanSendBitrateKbps: 1100, RTT: 40 * time.Millisecond}
	call.mu.Unlock()
	if got, ok := h.booth.CallStats(); !ok || got.FramesSent != 300 || got.RTT != 40*time.Millisecond {
		t.Errorf("call stats: got %+v, %v, want 300 frames sent and 40ms RTT", got, ok)
	}

	h.press(button.Mute)
	h.waitFor("muted", func(s Snapshot) bool { return s.Muted && s.State == InCall })
	h.press(button.End)
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.CallID != "call-1" || got.Reason != signalling.EndHangup {
		t.Errorf("end: got %+v, want hangup for call-1", got)
	}
	// How the call went, for the commissioners' report.
	if q := sc.next(t, signalling.TypeQuality).(*signalling.Quality); q.AppointmentID != "a1" || q.CallID != "call-1" || q.BitrateKbps != 1100 || q.RTTMs != 40 {
		t.Errorf("quality: got %+v, want a1/call-1 at a mean 1100 kbps and 40 ms", q)
	}
	s := h.waitState(Idle)
	if !call.isClosed() || !call.muted {
		t.Errorf("call closed %v muted %v, want both", call.isClosed(), call.muted)
	}
	if s.Calls != 1 || s.Stats.FramesSent != 300 {
		t.Errorf("snapshot: got %+v, want one call with its last stats", s)
	}
	if _, ok := h.booth.CallStats(); ok {
		t.Error("call stats after the call: got ok, want none")
	}
	if a, err := h.store.Get("a1"); err != nil || !a.Done {
		t.Errorf("appointment after the call: got %+v, %v, want done", a, err)
	}
	// Done appointments are not joined again: Join does nothing, and nothing is sent.
	h.press(button.Join)
	h.waitFor("ignored join", func(s Snapshot) bool { return s.Ignored == 1 })
	sc.none(t)
	if got := value(t, h.booth.metrics.calls.WithLabelValues("hangup")); got != 1 {
		t.Errorf("calls{result=hangup}: got %v, want 1", got)
	}
	// The call's frame counters are exported once, by media/call (carebooth_call_video_frames_sent_total,
	// TestAnswersARealOffer in booth/mediacall); the booth's snapshot above carries the 300.
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.Contains(mf.GetName(), "frames") || strings.Contains(mf.GetName(), "packets_decoded") {
			t.Errorf("booth metric %s: got a second export of a call counter, want media/call's only", mf.GetName())
		}
	}
}

func TestEndFromSwitchboard(t *testing.T) {
	tests := []struct {
		reason    string
		wantState State
	}{
		{signalling.EndHangup, Idle},
		{signalling.EndFailed, Waiting},   // the media failed: no consultation happened, wait again
		{signalling.EndPeerLost, Waiting}, // the clinician dropped: wait to be admitted again
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			checkGoroutines(t)
			h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
			sc, call := h.inCall()
			sc.send(t, signalling.TypeEnd, &signalling.End{CallID: "call-1", Reason: tt.reason})
			h.waitState(tt.wantState)
			if !call.isClosed() {
				t.Error("got the call open, want it closed")
			}
			if tt.wantState == Waiting {
				if got := sc.next(t, signalling.TypeArrive).(*signalling.Arrive); got.AppointmentID != "a1" {
					t.Errorf("re-arrive: got %q, want a1", got.AppointmentID)
				}
			}
		})
	}
}

// A call whose media fails is not a consultation: the booth says so and waits to be
// admitted again, rather than sending the patient home.
func TestMediaFailureSendsEndFailed(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, call := h.inCall()
	close(call.done)
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.Reason != signalling.EndFailed {
		t.Errorf("end: got %+v, want reason failed", got)
	}
	h.waitState(Waiting)
	if !call.isClosed() {
		t.Error("got the call open, want it closed")
	}
	if got := sc.next(t, signalling.TypeArrive).(*signalling.Arrive); got.AppointmentID != "a1" {
		t.Errorf("re-arrive: got %q, want a1", got.AppointmentID)
	}
	if a, err := h.store.Get("a1"); err != nil || a.Done {
		t.Errorf("appointment after a failed call: got %+v, %v, want not done", a, err)
	}
}

func TestReconnectWithBackoffReArrives(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc := h.sb.conn(t)
	sc.next(t, signalling.TypeArrive)
	h.waitFor("waiting online", func(s Snapshot) bool { return s.State == Waiting && !s.Offline })

	sc.c.CloseNow()
	h.waitFor("offline and still waiting", func(s Snapshot) bool { return s.Offline && s.State == Waiting })
	h.blockUntil(2) // the booth's end-of-appointment timer and the link's backoff timer
	select {
	case <-h.sb.conns:
		t.Fatal("the booth reconnected before its backoff elapsed")
	case <-time.After(100 * time.Millisecond):
	}
	h.clock.Advance(time.Second) // ReconnectMin; the jittered delay is at most that
	sc2 := h.sb.conn(t)
	if got := sc2.next(t, signalling.TypeArrive).(*signalling.Arrive); got.AppointmentID != "a1" {
		t.Errorf("re-arrive: got %q, want a1", got.AppointmentID)
	}
	s := h.waitFor("online again", func(s Snapshot) bool { return !s.Offline })
	if s.State != Waiting || s.Connects != 2 {
		t.Errorf("got %+v, want waiting after 2 connection attempts", s)
	}
	if got := value(t, h.booth.metrics.reconnects); got != 1 {
		t.Errorf("reconnects metric: got %v, want 1", got)
	}
}

func TestLinkLostDuringCallWaitsAgain(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, call := h.inCall()
	sc.c.CloseNow()
	h.waitFor("waiting offline", func(s Snapshot) bool { return s.State == Waiting && s.Offline })
	if !call.isClosed() {
		t.Error("got the call open, want it closed")
	}
	h.blockUntil(2)
	h.clock.Advance(time.Second)
	sc2 := h.sb.conn(t)
	sc2.next(t, signalling.TypeArrive)
}

func TestBadMessagesAreSurvived(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0.Add(time.Hour))}})
	sc := h.sb.conn(t)
	h.waitFor("online", func(s Snapshot) bool { return !s.Offline })
	ctx := context.Background()
	for _, raw := range []string{
		`not json`,
		`{"v":1,"type":"bogus","seq":50,"body":{}}`,
		`{"v":2,"type":"end","seq":51,"body":{"call_id":"x","reason":"hangup"}}`,
		`{"v":1,"type":"offer","seq":52,"body":{"call_id":"x","sdp":"nonsense"}}`,
	} {
		if err := sc.c.SendRaw(ctx, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	// Well-formed messages the booth has no use for in its state.
	sc.send(t, signalling.TypeQueue, &signalling.Queue{ClinicID: "clinic-1"})
	sc.send(t, signalling.TypeOffer, &signalling.SDP{CallID: "nocall", SDP: "v=0"})
	sc.send(t, signalling.TypeCandidate, &signalling.Candidate{CallID: "nocall"})
	sc.send(t, signalling.TypeEnd, &signalling.End{CallID: "nocall", Reason: signalling.EndHangup})
	sc.send(t, signalling.TypeError, &signalling.Error{Code: signalling.CodeConflict, Message: "test"})
	// Calls the booth must refuse: not waiting, and the wrong role.
	sc.send(t, signalling.TypeCall, &signalling.Call{CallID: "c-x", Role: signalling.CallAnswerer})
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.CallID != "c-x" || got.Reason != signalling.EndFailed {
		t.Errorf("refused call: got %+v, want end{c-x, failed}", got)
	}
	sc.send(t, signalling.TypeCall, &signalling.Call{CallID: "c-y", Role: signalling.CallOfferer})
	if got := sc.next(t, signalling.TypeEnd).(*signalling.End); got.CallID != "c-y" {
		t.Errorf("refused call: got %+v, want end{c-y, failed}", got)
	}
	// The link is still up and the booth still works.
	sc.send(t, signalling.TypeSchedule, &signalling.Schedule{Appointments: []signalling.Appointment{appt("a2", t0)}})
	if got := sc.next(t, signalling.TypeArrive).(*signalling.Arrive); got.AppointmentID != "a2" {
		t.Errorf("arrive after a new schedule: got %q, want a2", got.AppointmentID)
	}
	if s := h.booth.Snapshot(); s.Connects != 1 {
		t.Errorf("got %d connection attempts, want 1", s.Connects)
	}
}

func TestScheduleCancelWhileWaitingLeaves(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc := h.sb.conn(t)
	sc.next(t, signalling.TypeArrive)
	sc.send(t, signalling.TypeSchedule, &signalling.Schedule{})
	if got := sc.next(t, signalling.TypeLeave).(*signalling.Leave); got.AppointmentID != "a1" {
		t.Errorf("leave: got %q, want a1", got.AppointmentID)
	}
	h.waitState(Idle)
}

func TestEndWhileWaitingLeaves(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc := h.sb.conn(t)
	sc.next(t, signalling.TypeArrive)
	h.waitState(Waiting)
	h.press(button.End)
	sc.next(t, signalling.TypeLeave)
	h.waitState(JoinWindow) // auto mode does not re-arrive after the patient left
	h.press(button.Join)
	sc.next(t, signalling.TypeArrive)
	h.waitState(Waiting)
}

func TestBadTokenStaysOffline(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{token: "wrong"})
	h.blockUntil(2) // the booth's recheck timer and the backoff timer after the refused attempt
	h.clock.Advance(time.Second)
	h.waitFor("two attempts", func(s Snapshot) bool { return s.Connects >= 2 })
	if s := h.booth.Snapshot(); !s.Offline {
		t.Errorf("got online with a refused token, want offline")
	}
}

func TestPing(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{})
	h.waitFor("online", func(s Snapshot) bool { return !s.Offline }) // Run has started
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.booth.Ping(ctx); err != nil {
		t.Errorf("ping a running booth: got %v, want nil", err)
	}
	h.booth.Close()
	if err := h.booth.Ping(ctx); err == nil {
		t.Error("ping a closed booth: got nil, want an error")
	}
}

func TestMetricsHandlerToken(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(MetricsHandler(reg, "scrape-token"))
	defer srv.Close()
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer scrape-token", 200}} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("auth %q: got %d, want %d", tt.auth, resp.StatusCode, tt.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		deps Deps
	}{
		{"no caller", Config{SwitchboardURL: "ws://sb"}, Deps{Store: NewMemStore()}},
		{"bad url", Config{SwitchboardURL: "sb"}, Deps{Caller: newFakeCaller(), Store: NewMemStore()}},
		{"bad mode", Config{SwitchboardURL: "ws://sb", JoinMode: "sometimes"}, Deps{Caller: newFakeCaller(), Store: NewMemStore()}},
		{"no store", Config{SwitchboardURL: "ws://sb"}, Deps{Caller: newFakeCaller()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, tt.deps); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

// value reads a single counter or gauge.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// Help: the booth shows that help is coming only once the switchboard says staff were told;
// End clears it; offline nothing pretends.
func TestHelpButton(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{})
	h.waitFor("online", func(s Snapshot) bool { return !s.Offline })
	sc := h.sb.conn(t)
	h.press(button.Help)
	if got := sc.next(t, signalling.TypeHelp).(*signalling.Help); !got.Requested {
		t.Fatalf("help: got %+v, want requested", got)
	}
	if h.booth.Snapshot().Help {
		t.Fatal("got Help before the switchboard confirmed anyone was told, want not yet")
	}
	sc.send(t, signalling.TypeHelp, &signalling.Help{Requested: true, DeviceID: "dev-1", DeviceName: "test booth"})
	if s := h.waitFor("help confirmed", func(s Snapshot) bool { return s.Help }); s.HelpComingFrom != "" {
		t.Errorf("told, not answered: got HelpComingFrom %q, want none yet", s.HelpComingFrom)
	}
	// A member of staff said "I'm coming" on the staff station.
	sc.send(t, signalling.TypeHelp, &signalling.Help{Requested: true, DeviceID: "dev-1", DeviceName: "test booth", AcknowledgedBy: "Sam Porter"})
	h.waitFor("staff coming", func(s Snapshot) bool { return s.Help && s.HelpComingFrom == "Sam Porter" })
	h.press(button.End)
	if got := sc.next(t, signalling.TypeHelp).(*signalling.Help); got.Requested {
		t.Errorf("end: got %+v, want the help request over", got)
	}
	h.waitFor("help over", func(s Snapshot) bool { return !s.Help && s.HelpComingFrom == "" })
}

// TestHelpOverWhenACallConnects: a help request made in a call ends when the call's media
// connects, and the switchboard is told, so that the staff station's alert does not stand.
func TestHelpOverWhenACallConnects(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, call := h.inCall()
	h.press(button.Help)
	if got := sc.next(t, signalling.TypeHelp).(*signalling.Help); !got.Requested {
		t.Fatalf("help: got %+v, want requested", got)
	}
	sc.send(t, signalling.TypeHelp, &signalling.Help{Requested: true, DeviceID: "dev-1", DeviceName: "test booth"})
	h.waitFor("help confirmed", func(s Snapshot) bool { return s.Help })
	close(call.connected)
	h.waitFor("connected, help over", func(s Snapshot) bool { return s.Connected && !s.Help })
	if got := sc.next(t, signalling.TypeHelp).(*signalling.Help); got.Requested {
		t.Errorf("connected: got %+v, want the switchboard told the request is over", got)
	}
}

func TestHelpWhileOffline(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{down: true})
	h.press(button.Help)
	h.waitFor("the press ignored", func(s Snapshot) bool { return s.Ignored == 1 })
	if s := h.booth.Snapshot(); s.Help {
		t.Error("got Help while offline, want no promise of help")
	}
}

// TestHelpCallsStaffOnSite: with a staff call wired on site, Help is given the moment it is
// pressed, even offline (the people on site are called, not the clinic); End clears it.
// Once the link is up the clinic is told as well.
func TestHelpCallsStaffOnSite(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{down: true, staff: true})
	h.press(button.Help)
	h.waitFor("help given while offline", func(s Snapshot) bool { return s.Help && s.Offline })
	h.press(button.End)
	h.waitFor("help cleared", func(s Snapshot) bool { return !s.Help })
	if got := h.booth.Snapshot().Ignored; got != 0 {
		t.Errorf("ignored presses: got %d, want 0", got)
	}

	h.sb.down.Store(false)
	h.blockUntil(1)
	h.clock.Advance(time.Minute) // past the link's backoff
	sc := h.sb.conn(t)
	h.waitFor("online", func(s Snapshot) bool { return !s.Offline })
	h.press(button.Help)
	if got := sc.next(t, signalling.TypeHelp).(*signalling.Help); !got.Requested {
		t.Errorf("help sent to the switchboard: got %+v, want requested", got)
	}
	// The fake switchboard does not echo: Help comes from the press alone.
	h.waitFor("help given before any echo", func(s Snapshot) bool { return s.Help })
}

// TestHoldingEndCancelsTheAutomaticJoin: in an auto-join booth's window, a short End press
// means nothing, holding End stops the booth joining by itself at the start time, and Join
// still joins. Holding End in the waiting room leaves it, as a press does.
func TestHoldingEndCancelsTheAutomaticJoin(t *testing.T) {
	checkGoroutines(t)
	startAt := t0.Add(5 * time.Minute)
	h := start(t, opts{mode: device.JoinAuto, appts: []signalling.Appointment{appt("a1", startAt)}})
	sc := h.sb.conn(t)
	h.waitFor("join window, online", func(s Snapshot) bool { return s.State == JoinWindow && !s.Offline })

	h.press(button.End)
	h.waitFor("the press to be ignored", func(s Snapshot) bool { return s.Ignored == 1 })
	if h.booth.Snapshot().AutoJoinCancelled {
		t.Fatal("a short End press cancelled the automatic join")
	}
	h.hold(button.End)
	h.waitFor("the automatic join cancelled", func(s Snapshot) bool { return s.AutoJoinCancelled && s.State == JoinWindow })

	h.blockUntil(1)
	h.clock.Advance(5 * time.Minute) // the start time
	sc.none(t)
	if s := h.booth.Snapshot(); s.State != JoinWindow {
		t.Fatalf("at the start time after End was held: got %v, want join_window (not joined)", s.State)
	}

	h.press(button.Join)
	if got := sc.next(t, signalling.TypeArrive).(*signalling.Arrive); got.AppointmentID != "a1" {
		t.Errorf("arrive: got %q, want a1", got.AppointmentID)
	}
	h.waitFor("waiting, auto-join no longer cancelled", func(s Snapshot) bool { return s.State == Waiting && !s.AutoJoinCancelled })

	h.hold(button.End)
	if got := sc.next(t, signalling.TypeLeave).(*signalling.Leave); got.AppointmentID != "a1" {
		t.Errorf("holding End in the waiting room: left %q, want a1", got.AppointmentID)
	}
	h.waitFor("back in the window, not rejoining", func(s Snapshot) bool { return s.State == JoinWindow && s.AutoJoinCancelled })
}

// dropAll closes every open connection and refuses new ones until up is called: the
// switchboard (or the booth's Wi-Fi) is gone.
func (sb *fakeSwitchboard) dropAll() {
	sb.down.Store(true)
	sb.mu.Lock()
	for _, sc := range sb.open {
		sc.c.CloseNow()
	}
	sb.mu.Unlock()
}

// TestCallQualitySurvivesAnOutage: a call ends while the link is down; its figures are
// kept, sent when the link is back, and forgotten once the switchboard acknowledges them.
func TestCallQualitySurvivesAnOutage(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	sc, _ := h.connectedCall()
	h.clock.Advance(5 * time.Minute)

	h.sb.dropAll()
	h.waitFor("offline", func(s Snapshot) bool { return s.Offline })
	h.press(button.End)
	h.waitFor("the call over", func(s Snapshot) bool { return s.CallID == "" && s.State != InCall })
	kept, err := h.store.KeptQuality()
	if err != nil || len(kept) != 1 || kept[0].CallID != "call-1" || kept[0].Seconds < 299 {
		t.Fatalf("kept after a call ended offline: got %+v, %v; want call-1's five minutes", kept, err)
	}

	h.sb.down.Store(false)
	// Past the link's backoff, however far its timer is behind the other waiters: advance
	// until it dials again.
	sc = nil
	for i := 0; sc == nil; i++ {
		if i == 200 {
			t.Fatal("the booth did not connect again")
		}
		h.clock.Advance(30 * time.Second)
		select {
		case sc = <-h.sb.conns:
		case <-time.After(20 * time.Millisecond):
		}
	}
	var q *signalling.Quality
	for q == nil {
		select {
		case m := <-sc.msgs:
			if m.typ == signalling.TypeQuality {
				q = m.body.(*signalling.Quality)
			}
		case <-time.After(wait):
			t.Fatal("the kept call quality was not sent when the link came back")
		}
	}
	if q.CallID != "call-1" || q.AppointmentID != "a1" {
		t.Errorf("sent again: got %+v, want call-1 of a1", q)
	}
	sc.send(t, signalling.TypeQualityAck, &signalling.QualityAck{CallID: "call-1"})
	for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
		if kept, _ := h.store.KeptQuality(); len(kept) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the acknowledged call quality was not forgotten")
		}
	}
}

// TestVideoPausedWhileSoundGoesOn: the clinician's picture stands still for PausedAfter
// while their sound keeps coming (a link too slow for video): the booth says the picture
// has paused, and stops saying so when it moves again.
func TestVideoPausedWhileSoundGoesOn(t *testing.T) {
	checkGoroutines(t)
	h := start(t, opts{appts: []signalling.Appointment{appt("a1", t0)}})
	_, call := h.connectedCall()
	frames, audio := uint64(0), uint64(0)
	tick := func(moreFrames bool) {
		audio += 100
		if moreFrames {
			frames += 60
		}
		call.mu.Lock()
		call.stats = CallStats{FramesDecoded: frames, AudioPacketsDecoded: audio}
		call.mu.Unlock()
		h.sync()
		h.clock.Advance(2 * time.Second) // StatsInterval
		h.sync()
	}
	tick(true)
	tick(true)
	if h.booth.Snapshot().VideoPaused {
		t.Fatal("paused while the picture moves")
	}
	tick(false)
	if h.booth.Snapshot().VideoPaused {
		t.Fatal("paused after one still reading: under PausedAfter")
	}
	tick(false)
	tick(false)
	h.waitFor("the picture paused", func(s Snapshot) bool { return s.VideoPaused && s.State == InCall })
	tick(true)
	h.waitFor("the picture moving again", func(s Snapshot) bool { return !s.VideoPaused })
}
