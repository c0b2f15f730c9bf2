package e2e

import (
	"context"
	"fmt"
	"image"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/booth/mediacall"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/synth"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/store"
	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"
)

// stoppable is a switchboard on a fixed address that a test can stop and start again on
// the same state, as a server restart or a network outage looks to a booth.
type stoppable struct {
	t    testing.TB
	addr string
	st   store.Store
	mu   sync.Mutex
	srv  *switchboard.Server
	hs   *http.Server
	done chan struct{}
}

// startStoppable seeds the demo data into a bolt store and serves it; e is the env the
// harness helpers (startBooth, dialClinician) use.
func startStoppable(t *testing.T) (*stoppable, *env) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenBolt(filepath.Join(dir, "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	demo, err := switchboard.SeedDemo(context.Background(), st, clockwork.NewRealClock(), dir, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(demo.DeviceTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stoppable{t: t, addr: ln.Addr().String(), st: st}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s, &env{URL: "http://" + s.addr, Store: st, Demo: demo, Token: strings.TrimSpace(string(tok))}
}

func (s *stoppable) serve(ln net.Listener) {
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost}, switchboard.Deps{Store: s.st, Log: testLogger(s.t)})
	if err != nil {
		s.t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	done := make(chan struct{})
	go func() { defer close(done); hs.Serve(ln) }() //nolint:errcheck // ErrServerClosed at stop
	s.mu.Lock()
	s.srv, s.hs, s.done = srv, hs, done
	s.mu.Unlock()
}

// stop closes every connection and stops listening.
func (s *stoppable) stop() {
	s.mu.Lock()
	srv, hs, done := s.srv, s.hs, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	hs.Close()
	<-done
}

// start serves again on the same address and state.
func (s *stoppable) start() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// deviceEvents returns the records of an appointment that a booth recorded (with a key),
// as "event:from>to", and fails on a key seen twice.
func deviceEvents(t *testing.T, st store.Store, id string) []string {
	t.Helper()
	h, err := st.History(id)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range h {
		if r.Key == "" {
			continue
		}
		if seen[r.Key] {
			t.Fatalf("key %s applied twice: %+v", r.Key, h)
		}
		seen[r.Key] = true
		s := fmt.Sprintf("%s:%s>%s", r.Event, r.From, r.To)
		if r.Refused != "" {
			s += " refused: " + r.Refused
		}
		out = append(out, s)
	}
	return out
}

// advanceUntil steps a fake clock a second at a time until cond holds: the booth's link
// backs off on that clock, so an outage ends only when it moves.
func advanceUntil(t *testing.T, clock *clockwork.FakeClock, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, guard)
		}
		clock.Advance(time.Second)
		time.Sleep(20 * time.Millisecond)
	}
}

// The switchboard goes away before the appointment. The booth, on its cached schedule,
// opens the window, the patient joins, gives up, joins again; when the switchboard comes
// back every event arrives, in order, exactly once, the patient is in the waiting room
// and the consultation happens.
func TestOfflineBoothReplaysEveryEventOnce(t *testing.T) {
	sb, e := startStoppable(t)
	// The booth's clock starts an hour early: it caches the schedule before the window.
	clock := clockwork.NewFakeClockAt(time.Now().Add(-time.Hour))
	st, err := booth.OpenBoltStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rb := e.startBoothWithStore(t, clock, device.JoinButton, small, st)
	rb.waitFor(t, "online and idle", func(s booth.Snapshot) bool { return !s.Offline && s.NextAppointmentID == e.Demo.AppointmentID })
	sb.stop()
	rb.waitFor(t, "offline", func(s booth.Snapshot) bool { return s.Offline })

	clock.Advance(e.Demo.AppointmentStart.Add(-10 * time.Minute).Sub(clock.Now()))
	rb.waitFor(t, "the window, offline", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow && s.Outbox == 1 })
	for i, step := range []struct {
		b     button.Button
		state booth.State
	}{{button.Join, booth.Waiting}, {button.End, booth.JoinWindow}, {button.Join, booth.Waiting}} {
		rb.Buttons.Press(step.b)
		rb.waitFor(t, fmt.Sprintf("step %d", i), func(s booth.Snapshot) bool { return s.State == step.state && s.Outbox == i+2 })
	}
	if h := deviceEvents(t, e.Store, e.Demo.AppointmentID); len(h) != 0 {
		t.Fatalf("the switchboard has %v before it came back", h)
	}

	sb.start()
	advanceUntil(t, clock, "the outbox delivered", func() bool {
		s := rb.Snapshot()
		return !s.Offline && s.Outbox == 0
	})
	want := []string{"window_open:scheduled>window_open", "arrive:window_open>waiting", "leave:waiting>window_open", "arrive:window_open>waiting"}
	if got := deviceEvents(t, e.Store, e.Demo.AppointmentID); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("switchboard history: got %v, want %v", got, want)
	}

	cl := e.dialClinician(t)
	cl.expect(signalling.TypeQueue, func(b any) bool { return len(b.(*signalling.Queue).Entries) == 1 })
	cc := cl.admit(e.Demo.AppointmentID, small)
	defer cc.close()
	cl.pump(cc)
	rb.waitFor(t, "the call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
	rb.Buttons.Press(button.End)
	rb.waitFor(t, "idle after End", func(s booth.Snapshot) bool { return s.State == booth.Idle })
	eventually(t, "the appointment ended", func() bool {
		a, err := e.Store.Appointment(e.Demo.AppointmentID)
		return err == nil && a.Status == appointment.Ended
	})
	h, _ := e.Store.History(e.Demo.AppointmentID)
	last := h[len(h)-1]
	if last.Event != appointment.End || last.Actor.Kind != appointment.ActorDevice {
		t.Errorf("last record: got %+v, want end by the booth", last)
	}
}

// startDevice runs a booth.Booth for another device (token), in a role and join mode. Its
// media is media/synth's, so it can run beside a booth from startBooth (which has
// mediadevices' test drivers, openable once per process).
func (e *env) startDevice(t *testing.T, token string, role device.Role, mode device.JoinMode, clock clockwork.Clock) *runningBooth {
	t.Helper()
	rb := &runningBooth{Buttons: button.NewSim(clock), Clock: clock}
	caller, err := mediacall.New(loopbackEngine(t), mediacall.Config{
		OpenMedia:    func() (mediacall.LocalMedia, error) { return synth.Open(synth.Config{Capture: small}) },
		OnVideoFrame: func(*image.YCbCr) { rb.frames.Add(1) },
	}, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := booth.New(booth.Config{
		SwitchboardURL: e.URL, Token: token, DeviceName: string(role), JoinMode: mode, Role: role,
		JoinWindow: 10 * time.Minute, ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second,
	}, booth.Deps{Caller: caller, Buttons: rb.Buttons, Store: booth.NewMemStore(), Clock: clock, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rb.run(t, b)
	return rb
}

// The clinic-room appliance and the clinician's web app see the same waiting room. Next
// admits the patient who has waited longest; the appliance offers and the booth answers,
// with real media both ways. When Next and the web app admit the same patient at once,
// exactly one call starts.
func TestClinicRoomAppliance(t *testing.T) {
	e := startSwitchboard(t)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	admin := e.admin(t)
	second, secondTok, err := admin.CreateDevice(ctx, "library-booth-2", e.Demo.ClinicID, string(device.RoleBooth))
	if err != nil {
		t.Fatal(err)
	}
	_, roomTok, err := admin.CreateDevice(ctx, "room-3", e.Demo.ClinicID, string(device.RoleClinic))
	if err != nil {
		t.Fatal(err)
	}
	cl := e.dialClinician(t)
	later, err := cl.api.CreateAppointment(ctx, apiclient.NewAppointment{DeviceID: second.ID, Patient: "Second Patient",
		Start: e.Demo.AppointmentStart, End: e.Demo.AppointmentStart.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(time.Now())
	room := e.startDevice(t, roomTok, device.RoleClinic, device.JoinButton, clock)
	first := e.startBooth(t, clock, device.JoinButton, small)
	first.waitFor(t, "the window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow })
	first.Buttons.Press(button.Join)
	room.waitFor(t, "one waiting", func(s booth.Snapshot) bool { return s.Queue != nil && len(s.Queue.Entries) == 1 })
	other := e.startDevice(t, secondTok, device.RoleBooth, device.JoinButton, clock)
	other.waitFor(t, "the window", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow })
	other.Buttons.Press(button.Join)
	room.waitFor(t, "two waiting", func(s booth.Snapshot) bool { return s.Queue != nil && len(s.Queue.Entries) == 2 })

	// Next and the web app's Admit for the patient who has waited longest, at once.
	cl.expect(signalling.TypeQueue, func(b any) bool { return len(b.(*signalling.Queue).Entries) == 2 })
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); room.Buttons.Press(button.Join) }()
	go func() {
		defer wg.Done()
		cl.conn.Send(ctx, signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.Demo.AppointmentID}) //nolint:errcheck // the answer is checked below
	}()
	wg.Wait()
	// The clinician gets either the call or a conflict; the room's call shows in its state.
	var clinicianWon bool
	timer := time.NewTimer(guard)
	defer timer.Stop()
wait:
	for {
		select {
		case m := <-cl.in:
			switch b := m.body.(type) {
			case *signalling.Call:
				clinicianWon = true
				break wait
			case *signalling.Error:
				if b.Code != signalling.CodeConflict {
					t.Fatalf("clinician: got error %+v, want conflict", b)
				}
				break wait
			}
		case <-timer.C:
			t.Fatal("clinician: neither a call nor a conflict")
		}
	}
	if clinicianWon {
		t.Log("the web app's Admit won; the appliance's Next was refused")
		if s := room.Snapshot(); s.State == booth.InCall {
			t.Fatalf("both admits succeeded: the room is in a call too: %+v", s)
		}
		return // the clinician's side of the call is covered by the consultation tests
	}
	room.waitFor(t, "the room's call to connect", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
	first.waitFor(t, "the first booth's call", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected })
	eventually(t, "pictures both ways", func() bool { return room.frames.Load() > 0 && first.frames.Load() > 0 })
	if s := other.Snapshot(); s.State != booth.Waiting {
		t.Errorf("the later patient: got %+v, want still waiting", s)
	}
	room.Buttons.Press(button.End)
	first.waitFor(t, "the first booth idle", func(s booth.Snapshot) bool { return s.State == booth.Idle })
	room.waitFor(t, "one waiting, the later patient", func(s booth.Snapshot) bool {
		return s.State == booth.Idle && s.Queue != nil && len(s.Queue.Entries) == 1 && s.Queue.Entries[0].AppointmentID == later.ID
	})
	if a, _ := e.Store.Appointment(e.Demo.AppointmentID); a.Status != appointment.Ended {
		t.Errorf("first appointment: got %s, want ended", a.Status)
	}
}

// Two appointments back to back on one booth: the second's window opens during the
// first's call, the booth joins it by itself once the first is over, and both end.
func TestBackToBackAppointments(t *testing.T) {
	e := startSwitchboard(t)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	cl := e.dialClinician(t)
	firstEnd := e.Demo.AppointmentStart.Add(20 * time.Minute)
	next, err := cl.api.CreateAppointment(ctx, apiclient.NewAppointment{DeviceID: e.Demo.DeviceID, Patient: "Next Patient",
		Start: firstEnd, End: firstEnd.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(time.Now())
	rb := e.startBooth(t, clock, device.JoinAuto, small)
	rb.waitFor(t, "the first window", func(s booth.Snapshot) bool {
		return s.State == booth.JoinWindow && s.AppointmentID == e.Demo.AppointmentID
	})
	clock.Advance(e.Demo.AppointmentStart.Sub(clock.Now()))
	for i, id := range []string{e.Demo.AppointmentID, next.ID} {
		rb.waitFor(t, fmt.Sprintf("waiting for appointment %d", i+1), func(s booth.Snapshot) bool { return s.State == booth.Waiting && s.AppointmentID == id })
		cl.expect(signalling.TypeQueue, func(b any) bool {
			q := b.(*signalling.Queue)
			return len(q.Entries) == 1 && q.Entries[0].AppointmentID == id
		})
		cc := cl.admit(id, small)
		cl.pump(cc)
		rb.waitFor(t, "the call", func(s booth.Snapshot) bool { return s.State == booth.InCall && s.Connected && s.AppointmentID == id })
		if i == 0 {
			// The first consultation overruns into the second's slot.
			clock.Advance(firstEnd.Add(time.Minute).Sub(clock.Now()))
		}
		cc.close()
		cl.send(signalling.TypeEnd, &signalling.End{CallID: cc.ID, Reason: signalling.EndHangup})
		eventually(t, "the appointment ended", func() bool {
			a, err := e.Store.Appointment(id)
			return err == nil && a.Status == appointment.Ended
		})
	}
	rb.waitFor(t, "idle after both", func(s booth.Snapshot) bool { return s.State == booth.Idle })
}

// A patient who presses Join early is told when the window opens; one who comes late
// still joins until the appointment's end, and not after.
func TestEarlyAndLateJoin(t *testing.T) {
	e := startSwitchboard(t)
	clock := clockwork.NewFakeClockAt(e.Demo.AppointmentStart.Add(-30 * time.Minute))
	rb := e.startBooth(t, clock, device.JoinButton, small)
	cl := e.dialClinician(t)
	rb.waitFor(t, "online", func(s booth.Snapshot) bool { return !s.Offline && s.NextAppointmentID == e.Demo.AppointmentID })
	rb.Buttons.Press(button.Join)
	s := rb.waitFor(t, "too early", func(s booth.Snapshot) bool { return s.TooEarly })
	if want := e.Demo.AppointmentStart.Add(-10 * time.Minute); !s.NextWindowAt.Equal(want) || s.State != booth.Idle {
		t.Fatalf("got %+v, want idle, the window opening at %v", s, want)
	}
	// Fifteen minutes after the start (of twenty), Join still works.
	clock.Advance(e.Demo.AppointmentStart.Add(15 * time.Minute).Sub(clock.Now()))
	rb.waitFor(t, "the window, late", func(s booth.Snapshot) bool { return s.State == booth.JoinWindow && !s.TooEarly })
	rb.Buttons.Press(button.Join)
	cl.expect(signalling.TypeQueue, func(b any) bool { return len(b.(*signalling.Queue).Entries) == 1 })
	// The end comes: the booth leaves the waiting room, and Join does nothing.
	clock.Advance(6 * time.Minute)
	rb.waitFor(t, "idle at the end", func(s booth.Snapshot) bool { return s.State == booth.Idle })
	cl.expect(signalling.TypeQueue, func(b any) bool { return len(b.(*signalling.Queue).Entries) == 0 })
	ignored := rb.Snapshot().Ignored
	rb.Buttons.Press(button.Join)
	rb.waitFor(t, "the press ignored", func(s booth.Snapshot) bool { return s.Ignored == ignored+1 })
	if n := cl.queueLen(t); n != 0 {
		t.Errorf("got %d waiting after the end, want 0", n)
	}
}
