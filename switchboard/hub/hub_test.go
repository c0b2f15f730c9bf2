package hub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

// fakeLease is a Lease a test kicks by hand.
type fakeLease struct {
	kicked   chan struct{}
	reason   string
	mu       sync.Mutex
	released int
}

func newFakeLease() *fakeLease { return &fakeLease{kicked: make(chan struct{})} }

func (l *fakeLease) Kicked() <-chan struct{} { return l.kicked }
func (l *fakeLease) Reason() string          { return l.reason }
func (l *fakeLease) Release() {
	l.mu.Lock()
	l.released++
	l.mu.Unlock()
}
func (l *fakeLease) kick(reason string) { l.reason = reason; close(l.kicked) }

var _ Lease = (*fakeLease)(nil)

// bench is a hub on its own, with nothing of the HTTP API: a memory store with a clinic
// and a booth, and a server that hands every request to Serve as the booth.
type bench struct {
	t     *testing.T
	st    *store.Memory
	clock *clockwork.FakeClock
	hub   *Hub
	ts    *httptest.Server
	booth store.Device
	lease *fakeLease
}

func newBench(t *testing.T) *bench {
	t.Helper()
	return newBenchWith(t, Config{})
}

// newBenchWith is newBench with the hub's configuration cfg.
func newBenchWith(t *testing.T, cfg Config) *bench {
	t.Helper()
	b := &bench{t: t, st: store.NewMemory(), clock: clockwork.NewFakeClockAt(t0), lease: newFakeLease()}
	clinic := store.Clinic{Name: "Riverside"}
	if err := b.st.CreateClinic(&clinic); err != nil {
		t.Fatal(err)
	}
	b.booth = store.Device{Name: "booth-1", ClinicID: clinic.ID, Role: device.RoleBooth, CreatedAt: t0}
	if err := b.st.CreateDevice(&b.booth); err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b.hub, err = New(cfg, Deps{Store: b.st, Clock: b.clock, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	b.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := b.hub.Serve(w, r, Peer{Identity: Identity{Device: &b.booth}, Addr: "test",
			Open: func() (Lease, bool) { return b.lease, true }})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() {
		b.hub.Close() // first: hijacked WebSockets are not waited for by ts.Close
		b.ts.Close()
	})
	return b
}

// dial connects as the booth and says hello, returning the connection after its welcome.
func (b *bench) dial() (*websocket.Conn, *signalling.Conn) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.ts.URL, "http"), nil)
	if err != nil {
		b.t.Fatalf("dial: %v", err)
	}
	b.t.Cleanup(func() { ws.CloseNow() })
	c := signalling.NewConn(ws)
	if err := c.Send(ctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice, Agent: "test"}); err != nil {
		b.t.Fatal(err)
	}
	if env, _, err := c.Recv(ctx); err != nil || env.Type != signalling.TypeWelcome {
		b.t.Fatalf("after hello: got %v, %v; want welcome", env.Type, err)
	}
	return ws, c
}

// schedule reads messages until a schedule comes.
func schedule(t *testing.T, c *signalling.Conn) *signalling.Schedule {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		env, body, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for a schedule: %v", err)
		}
		if env.Type == signalling.TypeSchedule {
			return body.(*signalling.Schedule)
		}
	}
}

// TestServeAfterCloseIsErrClosed: a closed hub refuses a connection before registering
// it or writing anything, so the HTTP side can answer.
func TestServeAfterCloseIsErrClosed(t *testing.T) {
	h, err := New(Config{}, Deps{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	h.Close() // idempotent
	opened := false
	rec := httptest.NewRecorder()
	err = h.Serve(rec, httptest.NewRequest("GET", "/", nil), Peer{Open: func() (Lease, bool) { opened = true; return nil, false }})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close: got %v, want ErrClosed", err)
	}
	if opened || rec.Body.Len() != 0 {
		t.Errorf("Serve after Close: got opened %v and body %q, want neither", opened, rec.Body.String())
	}
}

// TestKickedLeaseClosesTheConnection: when the caller kicks a connection's lease (a
// logout), the peer gets a policy-violation close naming the reason, and the lease is
// released once.
func TestKickedLeaseClosesTheConnection(t *testing.T) {
	b := newBench(t)
	_, c := b.dial()
	b.lease.kick("logged out")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = c.Recv(ctx)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "logged out" {
		t.Fatalf("after the kick: got %v, want a policy-violation close saying logged out", err)
	}
	b.hub.Close() // waits for the connection's goroutines
	b.lease.mu.Lock()
	defer b.lease.mu.Unlock()
	if b.lease.released != 1 {
		t.Errorf("lease released %d times, want 1", b.lease.released)
	}
}

// TestImportAppointmentsPushesTheSchedule: an import written through the hub reaches the
// booth it books as one new schedule.
func TestImportAppointmentsPushesTheSchedule(t *testing.T) {
	b := newBench(t)
	_, c := b.dial()
	if sch := schedule(t, c); len(sch.Appointments) != 0 {
		t.Fatalf("first schedule: got %d appointments, want 0", len(sch.Appointments))
	}
	start := t0.Add(time.Hour)
	written, err := b.hub.ImportAppointments(b.booth.ClinicID, []string{"ext-1"}, func(map[string]store.Appointment) ([]store.ImportWrite, error) {
		return []store.ImportWrite{{Appointment: store.Appointment{ClinicID: b.booth.ClinicID, DeviceID: b.booth.ID, ExternalID: "ext-1",
			Patient: "Alex Morgan", Start: start, End: start.Add(20 * time.Minute), Status: appointment.Scheduled, CreatedAt: t0, UpdatedAt: t0}}}, nil
	})
	if err != nil || len(written) != 1 {
		t.Fatalf("import: got %d written, %v; want 1", len(written), err)
	}
	sch := schedule(t, c)
	if len(sch.Appointments) != 1 || sch.Appointments[0].ID != written[0].ID {
		t.Errorf("schedule after the import: got %+v, want appointment %s", sch.Appointments, written[0].ID)
	}
}
