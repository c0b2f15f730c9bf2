package present

import (
	"context"
	"image"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/signalling"
)

// TestScreenShowsTheBoothsMute: Mute pressed on the booth's buttons in a call shows on
// the screen because the booth's snapshot says so, with nothing else watching the call:
// the snapshot shows Muted, then the view does; pressed again, both show it on.
func TestScreenShowsTheBoothsMute(t *testing.T) {
	start := time.Now().Add(-time.Minute)
	sb := newCallingSwitchboard(t, signalling.Appointment{ID: "a1", ClinicID: "c1", DeviceID: "dev-1",
		ClinicName: "Riverside Surgery", Start: start, End: start.Add(20 * time.Minute), Status: "booked"})
	sim := button.NewSim(nil)
	defer sim.Close()
	b, err := booth.New(booth.Config{SwitchboardURL: sb.URL, Token: "tok", JoinMode: device.JoinAuto, JoinWindow: 10 * time.Minute},
		booth.Deps{Caller: mutingCaller{}, Buttons: sim, Store: booth.NewMemStore(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := &recordingDisplay{changed: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { b.Run(ctx) })
	wg.Go(func() { NewScreen(ScreenConfig{AutoJoin: true}).Follow(ctx, b, d) })

	waitSnap := func(what string, cond func(booth.Snapshot) bool) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		defer wcancel()
		if _, err := b.WaitFor(wctx, cond); err != nil {
			t.Fatalf("waiting for the booth's snapshot %s: %v", what, err)
		}
	}
	waitView := func(what string, cond func(screen.View) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			d.mu.Lock()
			v := d.last
			d.mu.Unlock()
			if cond(v) {
				return
			}
			select {
			case <-d.changed:
			case <-deadline:
				t.Fatalf("the screen never showed %s: got %+v last", what, v)
			}
		}
	}
	waitSnap("in a call, unmuted", func(s booth.Snapshot) bool { return s.State == booth.InCall && !s.Muted })
	waitView("the call, unmuted", func(v screen.View) bool { return v.Kind == screen.InCall && !v.Muted })
	for _, want := range []bool{true, false} {
		if err := sim.Press(button.Mute); err != nil {
			t.Fatal(err)
		}
		waitSnap("with Muted "+map[bool]string{true: "on", false: "off"}[want], func(s booth.Snapshot) bool { return s.Muted == want })
		waitView("the call with Muted "+map[bool]string{true: "on", false: "off"}[want],
			func(v screen.View) bool { return v.Kind == screen.InCall && v.Muted == want })
	}
}

// recordingDisplay keeps the last view it was given and signals each one.
type recordingDisplay struct {
	mu      sync.Mutex
	last    screen.View
	changed chan struct{}
}

func (r *recordingDisplay) SetView(v screen.View) {
	r.mu.Lock()
	r.last = v
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recordingDisplay) SetRemoteFrame(*image.YCbCr) {}
func (r *recordingDisplay) SetSelfFrame(*image.YCbCr)   {}

// mutingCaller starts calls that can mute and never fail.
type mutingCaller struct{}

func (mutingCaller) StartCall(context.Context, booth.CallParams) (booth.ActiveCall, error) {
	return &mutingCall{done: make(chan struct{}), connected: make(chan struct{})}, nil
}

type mutingCall struct {
	done, connected chan struct{}
	mu              sync.Mutex
	muted           bool
}

var _ booth.Muter = (*mutingCall)(nil)

func (c *mutingCall) Answer(context.Context, string) (string, error) { return "v=0\r\n", nil }
func (c *mutingCall) AddCandidate(signalling.Candidate) error        { return nil }
func (c *mutingCall) Connected() <-chan struct{}                     { return c.connected }
func (c *mutingCall) Done() <-chan struct{}                          { return c.done }
func (c *mutingCall) Stats() booth.CallStats                         { return booth.CallStats{} }
func (c *mutingCall) Close() error                                   { return nil }

func (c *mutingCall) SetMuted(m bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.muted = m
	return nil
}

// newCallingSwitchboard is a switchboard that welcomes one device with appt in its
// schedule and starts a call for each arrive. It is closed when the test ends.
func newCallingSwitchboard(t *testing.T, appt signalling.Appointment) *httptest.Server {
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/signal" {
			http.NotFound(w, r)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		c := signalling.NewConn(ws)
		defer c.CloseNow()
		ctx := r.Context()
		if _, _, err := c.Recv(ctx); err != nil { // hello
			return
		}
		if c.Send(ctx, signalling.TypeWelcome, &signalling.Welcome{Role: signalling.RoleDevice, ID: "dev-1",
			ClinicID: "c1", ServerTime: time.Now()}) != nil {
			return
		}
		if c.Send(ctx, signalling.TypeSchedule, &signalling.Schedule{Appointments: []signalling.Appointment{appt}}) != nil {
			return
		}
		calls := 0
		for {
			_, body, err := c.Recv(ctx)
			if err != nil {
				return
			}
			var arrived string
			switch m := body.(type) {
			case *signalling.Arrive:
				arrived = m.AppointmentID
			case *signalling.Event:
				if c.Send(ctx, signalling.TypeEventAck, &signalling.EventAck{Key: m.Key}) != nil {
					return
				}
				if m.Event == appointment.Arrive {
					arrived = m.AppointmentID
				}
			}
			if arrived != "" && calls == 0 {
				calls++
				if c.Send(ctx, signalling.TypeCall, &signalling.Call{CallID: "call-1", AppointmentID: arrived,
					Role: signalling.CallAnswerer, Peer: "Dr Who"}) != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); wg.Wait() })
	return srv
}
