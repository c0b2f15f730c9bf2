package main

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/hw/light"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/signalling"
)

func TestScreenView(t *testing.T) {
	loc := time.UTC
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, loc)
	appt := func(id string, start time.Time, done bool, status string) booth.Appointment {
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
	m := &screenView{autoJoin: true, loc: loc}
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
		v := m.view(tc.snap, appts, now.Add(tc.at), tc.muted)
		if v.Kind != tc.kind || v.ClinicName != tc.clinic || !v.Appointment.Equal(tc.start) ||
			!v.WaitingSince.Equal(tc.since) || v.Muted != tc.muted || !v.AutoJoin || v.Location != loc {
			t.Errorf("%s: got %v %q at %v waiting since %v muted %v, want %v %q at %v since %v muted %v",
				tc.name, v.Kind, v.ClinicName, v.Appointment, v.WaitingSince, v.Muted, tc.kind, tc.clinic, tc.start, tc.since, tc.muted)
		}
	}
	// A missing camera shows while idle or in a join window, never over a waiting patient.
	faulty := &screenView{autoJoin: true, loc: loc, problem: screen.ProblemCamera}
	for _, tc := range []struct {
		state booth.State
		want  screen.Kind
	}{{booth.Idle, screen.Fault}, {booth.JoinWindow, screen.Fault}, {booth.Waiting, screen.Waiting}, {booth.InCall, screen.InCall}} {
		if v := faulty.view(booth.Snapshot{State: tc.state, AppointmentID: "past"}, appts, now, false); v.Kind != tc.want || (tc.want == screen.Fault && v.Problem != screen.ProblemCamera) {
			t.Errorf("camera missing, %v: got %v %q, want %v", tc.state, v.Kind, v.Problem, tc.want)
		}
	}
	if v := m.view(booth.Snapshot{}, nil, now, false); v.Kind != screen.Idle || !v.Appointment.IsZero() {
		t.Errorf("no appointments: got %v at %v, want idle with none", v.Kind, v.Appointment)
	}
	// The booth's own choice of next appointment, its join mode in force, Join too early.
	opens := now.Add(2*time.Hour + 50*time.Minute)
	v := m.view(booth.Snapshot{State: booth.Idle, NextAppointmentID: "later", NextWindowAt: opens, TooEarly: true,
		JoinMode: booth.JoinButton}, appts, now, false)
	if v.Kind != screen.Idle || v.ClinicName != "Clinic later" || !v.TooEarly || !v.JoinOpens.Equal(opens) || v.AutoJoin {
		t.Errorf("too early: got %+v, want idle for Clinic later, too early, opening at %v, button mode", v, opens)
	}
	// The clinic-room appliance shows its waiting room; in a call, the call.
	q := &signalling.Queue{Entries: []signalling.QueueEntry{{Patient: "Mr Tom Jones", Since: now.Add(-7 * time.Minute)},
		{Patient: "Ms Li Wei", Since: now, InCall: true}}}
	v = m.view(booth.Snapshot{State: booth.Idle, Role: booth.RoleClinic, Queue: q}, nil, now, false)
	wantQ := []screen.Waiter{{Name: "Mr Tom Jones", Since: now.Add(-7 * time.Minute)}, {Name: "Ms Li Wei", Since: now, InCall: true}}
	if v.Kind != screen.WaitingRoom || len(v.Queue) != 2 || v.Queue[0] != wantQ[0] || v.Queue[1] != wantQ[1] {
		t.Errorf("clinic room: got %v %+v, want the waiting room %+v", v.Kind, v.Queue, wantQ)
	}
	if v = m.view(booth.Snapshot{State: booth.InCall, Role: booth.RoleClinic, Queue: q}, nil, now, false); v.Kind != screen.InCall {
		t.Errorf("clinic room in a call: got %v, want in-call", v.Kind)
	}
	if v = m.view(booth.Snapshot{State: booth.Idle, Role: booth.RoleClinic, Offline: true}, nil, now, false); v.Kind != screen.Reconnecting {
		t.Errorf("clinic room offline: got %v, want reconnecting", v.Kind)
	}
}

type screenTestCaller struct{ call booth.ActiveCall }

func (c screenTestCaller) StartCall(context.Context, booth.CallParams) (booth.ActiveCall, error) {
	if c.call == nil {
		return nil, errors.New("no call")
	}
	return c.call, nil
}

type screenPlainCall struct{ booth.ActiveCall }

type screenMuterCall struct {
	booth.ActiveCall
	muted bool
	err   error
}

func (c *screenMuterCall) SetMuted(m bool) error {
	if c.err != nil {
		return c.err
	}
	c.muted = m
	return nil
}

func TestMuteWatch(t *testing.T) {
	// A call that cannot mute stays one the booth sees cannot.
	w := newMuteWatch(screenTestCaller{call: screenPlainCall{}})
	ac, err := w.StartCall(context.Background(), booth.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ac.(booth.Muter); ok {
		t.Error("a call without SetMuted became a Muter")
	}

	inner := &screenMuterCall{}
	w = newMuteWatch(screenTestCaller{call: inner})
	ac, err = w.StartCall(context.Background(), booth.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := ac.(booth.Muter)
	if !ok {
		t.Fatal("a call with SetMuted is not a Muter through the watch")
	}
	if err := m.SetMuted(true); err != nil || !inner.muted || !w.Muted() {
		t.Errorf("SetMuted(true): err %v, call muted %v, watch muted %v; want nil, true, true", err, inner.muted, w.Muted())
	}
	select {
	case <-w.Changed():
	default:
		t.Error("no change signalled")
	}
	inner.err = errors.New("device busy")
	if err := m.SetMuted(false); err == nil || !w.Muted() {
		t.Errorf("failed SetMuted(false): err %v, watch muted %v; want the error and still muted", err, w.Muted())
	}
	// A new call starts unmuted.
	if _, err := w.StartCall(context.Background(), booth.CallParams{}); err != nil || w.Muted() {
		t.Errorf("new call: err %v, muted %v; want unmuted", err, w.Muted())
	}
}

// TestScreenFollowsTheBooth wires a virtual screen to a real booth (whose switchboard is
// unreachable, so it is offline and idle with one appointment in its cache): the snapshot
// shows the idle screen with the appointment, and a button pressed on the virtual screen
// reaches the booth.
func TestScreenFollowsTheBooth(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	scr, err := openScreen(config.Screen{Backend: config.ScreenVirtual, Listen: "127.0.0.1:0", Device: "/dev/fb0"},
		config.Device{JoinMode: config.JoinButton}, clockwork.NewRealClock(), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	store := booth.NewMemStore()
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	if err := store.ReplaceSchedule([]signalling.Appointment{{ID: "a1", ClinicName: "Riverside Surgery",
		Start: start, End: start.Add(20 * time.Minute), Status: "scheduled"}}); err != nil {
		t.Fatal(err)
	}
	b, err := booth.New(booth.Config{SwitchboardURL: "http://127.0.0.1:1", Token: "t", JoinMode: config.JoinButton,
		JoinWindow: 10 * time.Minute}, booth.Deps{Caller: scr.watchCaller(screenTestCaller{}), Buttons: scr.withButtons(nil),
		Store: store, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.Run(gctx) })
	scr.start(gctx, g, b)
	defer func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	}()

	// The screen shows the idle screen with the cached appointment: compare with what
	// the renderer draws for that view.
	want := screen.View{Location: time.Local, ClinicName: "Riverside Surgery", Appointment: start}
	r, err := screen.NewRenderer(scr.virtual.Size())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(scr.virtual.URL() + "screen.png")
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		want.Now = time.Now()
		img, _ := r.Render(want, nil, nil)
		if screenSameImage(got, img) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the virtual screen does not show the idle screen with the appointment (%q)", r.Layout(want).Text())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Join pressed on the virtual screen reaches the booth (which ignores it: no window).
	resp, err := http.Post(scr.virtual.URL()+"buttons/join", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /buttons/join: %s, want 204", resp.Status)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, err := b.WaitFor(wctx, func(s booth.Snapshot) bool { return s.Ignored == 1 }); err != nil {
		t.Errorf("the booth did not get the press: %v", err)
	}
}

func screenSameImage(a image.Image, b *image.RGBA) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := b.Rect.Min.Y; y < b.Rect.Max.Y; y += 3 {
		for x := b.Rect.Min.X; x < b.Rect.Max.X; x += 3 {
			if color.RGBAModel.Convert(a.At(x, y)) != b.RGBAAt(x, y) {
				return false
			}
		}
	}
	return true
}

// TestSelfViewOnTheScreen: the camera frames capture hands over (capture.Config's
// OnSelfFrame, as boothd opens it) appear in the call screen's self-view box; after the
// call they are gone.
func TestSelfViewOnTheScreen(t *testing.T) {
	scr, err := openScreen(config.Screen{Backend: config.ScreenVirtual, Listen: "127.0.0.1:0", Device: "/dev/fb0"},
		config.Device{JoinMode: config.JoinAuto}, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	cc := captureConfig(config.Media{Video: "test", Audio: "test"}, scr)
	if cc.OnSelfFrame == nil {
		t.Fatal("capture.Config.OnSelfFrame is nil: the camera's frames never reach the screen")
	}
	if got := captureConfig(config.Media{}, nil).OnSelfFrame; got != nil {
		t.Error("with no screen, OnSelfFrame should be nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return scr.display.Run(gctx) })
	g.Go(func() error { return scr.virtual.Run(gctx) })
	defer func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	}()

	// A camera frame of one strong colour: Y'CbCr for about RGB(200, 40, 160).
	self := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	yy, cb, cr := color.RGBToYCbCr(200, 40, 160)
	for i := range self.Y {
		self.Y[i] = yy
	}
	for i := range self.Cb {
		self.Cb[i], self.Cr[i] = cb, cr
	}
	v := screen.View{Kind: screen.InCall}
	r, err := screen.NewRenderer(scr.virtual.Size())
	if err != nil {
		t.Fatal(err)
	}
	box := r.Layout(v).Self
	if box.Empty() {
		t.Fatal("the call layout has no self-view box")
	}
	centre := image.Pt((box.Min.X+box.Max.X)/2, (box.Min.Y+box.Max.Y)/2)
	scr.display.SetView(v)
	cc.OnSelfFrame(self)
	wantColour := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			c := snapshotAt(t, scr.virtual.URL(), centre)
			near := absDiff(c.R, 200) < 12 && absDiff(c.G, 40) < 12 && absDiff(c.B, 160) < 12
			if near == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("self-view box centre %v: got %v, want the camera's colour: %v", centre, c, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wantColour(true)
	scr.display.SetSelfFrame(nil)
	wantColour(false)
}

func snapshotAt(t *testing.T, url string, p image.Point) color.RGBA {
	t.Helper()
	resp, err := http.Get(url + "screen.png")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return color.RGBAModel.Convert(img.At(p.X, p.Y)).(color.RGBA)
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestVirtualScreenDrawsTheSimulatedLight: with the simulated light, the virtual screen's
// page draws it (GET /light answers); without a virtual screen nothing is claimed.
func TestVirtualScreenDrawsTheSimulatedLight(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	scr, err := openScreen(config.Screen{Backend: config.ScreenVirtual, Listen: "127.0.0.1:0", Device: "/dev/fb0"},
		config.Device{JoinMode: config.JoinAuto}, clockwork.NewRealClock(), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	l, _, err := openLight(config.Light{}, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	if !scr.drawLight(l) {
		t.Fatal("drawLight: got false, want the simulated light drawn on the virtual screen")
	}
	if (*boothScreen)(nil).drawLight(l) {
		t.Error("drawLight with no screen: got true, want false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- scr.virtual.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	l.Show(light.For(light.Status{State: light.InCall}))
	resp, err := http.Get(scr.virtual.URL() + "light")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"lit":true`) {
		t.Errorf("GET /light: %s %s, want the lit in-call light", resp.Status, body)
	}
}

// TestFaultScreenHasThePhoneNumber: the fault screen names the clinic's phone number:
// the appointment's clinic's, or with no appointment the booth's own clinic's.
func TestFaultScreenHasThePhoneNumber(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	appts := []booth.Appointment{{Appointment: signalling.Appointment{ID: "a", ClinicName: "Eye clinic",
		ClinicPhone: "01632 960 999", Start: now.Add(time.Hour), End: now.Add(80 * time.Minute), Status: "scheduled"}}}
	m := &screenView{problem: screen.ProblemCamera, loc: time.UTC}
	snap := booth.Snapshot{State: booth.Idle, ClinicPhone: "01632 960 123"}
	if v := m.view(snap, appts, now, false); v.Kind != screen.Fault || v.ClinicPhone != "01632 960 999" {
		t.Errorf("with an appointment: got %v, phone %q, want fault with the appointment's clinic's 01632 960 999", v.Kind, v.ClinicPhone)
	}
	if v := m.view(snap, nil, now, false); v.ClinicPhone != "01632 960 123" {
		t.Errorf("with no appointment: got phone %q, want the booth's clinic's 01632 960 123", v.ClinicPhone)
	}
}

// TestHeldEndShowsTheJoinButton: once End was held in an auto-join window, the screen no
// longer says the booth will join by itself; it asks for the green button.
func TestHeldEndShowsTheJoinButton(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	appts := []booth.Appointment{{Appointment: signalling.Appointment{ID: "a", ClinicName: "Eye clinic",
		Start: now.Add(5 * time.Minute), End: now.Add(25 * time.Minute), Status: "scheduled"}}}
	m := &screenView{autoJoin: true, loc: time.UTC}
	snap := booth.Snapshot{State: booth.JoinWindow, AppointmentID: "a", JoinMode: booth.JoinAuto}
	if v := m.view(snap, appts, now, false); !v.AutoJoin {
		t.Fatal("auto-join window: got AutoJoin false, want true")
	}
	snap.AutoJoinCancelled = true
	if v := m.view(snap, appts, now, false); v.AutoJoin || v.Kind != screen.JoinWindow {
		t.Errorf("after End was held: got %v AutoJoin %v, want the join window asking for the button", v.Kind, v.AutoJoin)
	}
}
