package main

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/hw/light"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/hw/screen/fbdev"
	"github.com/carebooth/carebooth/hw/screen/virtual"
	"github.com/carebooth/carebooth/provisioning/config"
)

// boothScreen is the screen as boothd runs it: the panel, the display loop drawing on it,
// the virtual screen's server and buttons when that is the panel, and what the booth's
// state looks like on it. A nil *boothScreen is no screen ("off"); its methods do nothing.
type boothScreen struct {
	display *screen.Display
	virtual *virtual.Screen // nil unless the virtual screen
	desc    string
	close   func() error
	view    screenView
	mute    *muteWatch
	clock   clockwork.Clock
	log     *slog.Logger
}

// openScreen opens the panel cfg chooses. "auto" is the framebuffer when cfg.Device
// exists, the virtual screen otherwise; if auto's virtual screen cannot listen (another
// boothd has the port) the booth runs without a screen rather than not at all.
func openScreen(cfg config.Screen, dev config.Device, clock clockwork.Clock, logger *slog.Logger) (*boothScreen, error) {
	backend := cfg.Backend
	if backend == config.ScreenAuto {
		backend = config.ScreenVirtual
		if _, err := os.Stat(cfg.Device); err == nil {
			backend = config.ScreenFbdev
		}
	}
	s := &boothScreen{view: screenView{autoJoin: dev.JoinMode == config.JoinAuto, loc: time.Local},
		clock: clock, log: logger.With("component", "screen")}
	var panel screen.Panel
	switch backend {
	case config.ScreenOff:
		return nil, nil
	case config.ScreenFbdev:
		fb, err := fbdev.Open(cfg.Device)
		if err != nil {
			return nil, fmt.Errorf("screen.device: %w (boothd's user needs the video group; or set screen.backend)", err)
		}
		panel, s.close = fb, fb.Close
		s.desc = fmt.Sprintf("framebuffer %s, %v", cfg.Device, fb.Format())
	case config.ScreenVirtual:
		v, err := virtual.New(virtual.Config{Listen: cfg.Listen, Clock: clock, Logger: logger})
		if err != nil && cfg.Backend == config.ScreenAuto {
			logger.Warn("no screen: the virtual screen cannot listen; set screen.listen to a free port", "err", err)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("screen.listen: %w", err)
		}
		panel, s.close, s.virtual = v, v.Close, v
		s.desc = "virtual, " + v.URL()
	default:
		return nil, fmt.Errorf("screen.backend %q: not built", backend)
	}
	d, err := screen.NewDisplay(panel, screen.DisplayConfig{Clock: clock, Logger: logger})
	if err != nil {
		s.close()
		return nil, err
	}
	s.display = d
	return s, nil
}

// Close releases the panel.
func (s *boothScreen) Close() error {
	if s == nil {
		return nil
	}
	return s.close()
}

// describe is the screen for the start-up log line.
func (s *boothScreen) describe() string {
	if s == nil {
		return "off"
	}
	return s.desc
}

// setProblem sets the fault to show (screen.Problem*, or "" for none). Call it before the
// screen runs.
func (s *boothScreen) setProblem(problem string) {
	if s != nil {
		s.view.problem = problem
	}
}

// onVideo is the remote video callback for mediacall.Config.OnVideoFrame.
func (s *boothScreen) onVideo() func(*image.YCbCr) {
	if s == nil {
		return nil
	}
	return s.display.SetRemoteFrame
}

// onSelf is the camera callback for the self-view (capture.Config.OnSelfFrame).
func (s *boothScreen) onSelf() func(*image.YCbCr) {
	if s == nil {
		return nil
	}
	return s.display.SetSelfFrame
}

// watchCaller wraps the booth's Caller so the screen knows when the microphone is off.
func (s *boothScreen) watchCaller(c booth.Caller) booth.Caller {
	if s == nil {
		return c
	}
	s.mute = newMuteWatch(c)
	return s.mute
}

// drawLight has the virtual screen's page draw a simulated light, and says whether it
// does (a GPIO light is on the booth itself).
func (s *boothScreen) drawLight(l statusLight) bool {
	sim, ok := l.(*light.Sim)
	if s == nil || s.virtual == nil || !ok {
		return false
	}
	s.virtual.ShowLight(sim)
	return true
}

// withButtons adds the virtual screen's buttons to src (which may be nil).
func (s *boothScreen) withButtons(src button.Source) button.Source {
	if s == nil || s.virtual == nil {
		return src
	}
	if src == nil {
		return s.virtual.Buttons()
	}
	return button.Merge(src, s.virtual.Buttons())
}

// start runs the display, the virtual screen's server and the loop that follows the
// booth's state in g.
func (s *boothScreen) start(ctx context.Context, g *errgroup.Group, b *booth.Booth) {
	if s == nil {
		return
	}
	g.Go(func() error { return s.display.Run(ctx) })
	if s.virtual != nil {
		g.Go(func() error { return s.virtual.Run(ctx) })
	}
	g.Go(func() error { return s.follow(ctx, b) })
}

// screenView works out what the screen shows from the booth's state. It remembers when
// the booth entered the waiting room.
type screenView struct {
	problem      string // a missing camera, microphone or speaker (screen.Problem*), or ""
	autoJoin     bool
	loc          *time.Location
	waitingFor   string
	waitingSince time.Time
}

// view maps a Snapshot, the booth's upcoming appointments and the microphone's state to
// the screen. Offline while in an appointment's window, waiting or in a call shows
// Reconnecting; offline and idle still shows the next appointment from the cache. The
// clinic-room appliance shows its waiting room.
func (m *screenView) view(s booth.Snapshot, appts []booth.Appointment, now time.Time, muted bool) screen.View {
	v := screen.View{Location: m.loc, AutoJoin: m.autoJoin, Muted: muted, TooEarly: s.TooEarly, JoinOpens: s.NextWindowAt}
	if s.JoinMode != "" { // the mode in force, which the switchboard may have changed
		v.AutoJoin = s.JoinMode == booth.JoinAuto
	}
	if s.AutoJoinCancelled { // End was held: only the green button joins now
		v.AutoJoin = false
	}
	switch s.State {
	case booth.JoinWindow:
		v.Kind = screen.JoinWindow
	case booth.Waiting:
		v.Kind = screen.Waiting
	case booth.InCall:
		v.Kind = screen.InCall
	}
	switch s.State {
	case booth.Waiting:
		if m.waitingFor != s.AppointmentID {
			m.waitingFor, m.waitingSince = s.AppointmentID, now
		}
		v.WaitingSince = m.waitingSince
	case booth.InCall:
		// A call that drops back to the waiting room (the clinician reloaded) keeps
		// counting from the first arrival.
	default:
		m.waitingFor, m.waitingSince = "", time.Time{}
	}
	if s.Role == booth.RoleClinic && s.State != booth.InCall {
		v.Kind = screen.WaitingRoom
		if s.Queue != nil {
			for _, e := range s.Queue.Entries {
				v.Queue = append(v.Queue, screen.Waiter{Name: e.Patient, Since: e.Since, InCall: e.InCall})
			}
		}
	}
	if m.problem != "" && (s.State == booth.Idle || s.State == booth.JoinWindow) && s.Role != booth.RoleClinic {
		// Never over a waiting patient or a call: those go on as well as they can.
		v.Kind, v.Problem = screen.Fault, m.problem
	}
	if s.Help && s.State != booth.InCall {
		v.Kind = screen.HelpRequested // staff were told (the switchboard confirmed it)
	}
	if s.Offline && (s.State != booth.Idle || s.Role == booth.RoleClinic) {
		v.Kind = screen.Reconnecting
	}
	// The appointment the booth is busy with; when idle, the next one (the booth's choice
	// if it made one, else the first still to come).
	want := s.AppointmentID
	if want == "" {
		want = s.NextAppointmentID
	}
	var appt *booth.Appointment
	for i := range appts {
		a := &appts[i]
		if want != "" {
			if a.ID == want {
				appt = a
				break
			}
			continue
		}
		if !a.Done && a.Status != "cancelled" && a.Status != "ended" && a.Start.After(now) &&
			(appt == nil || a.Start.Before(appt.Start)) {
			appt = a
		}
	}
	if appt != nil {
		v.ClinicName, v.Appointment = appt.ClinicName, appt.Start
		v.ClinicPhone = appt.ClinicPhone
	}
	if v.ClinicPhone == "" {
		// No appointment, or an appointment cached before phones were sent: the booth's
		// own clinic.
		v.ClinicPhone = s.ClinicPhone
	}
	return v
}

// follow keeps the display showing the booth's state until ctx is done. The schedule can
// change without the state changing, so the appointments are read again every 30 s.
func (s *boothScreen) follow(ctx context.Context, b *booth.Booth) error {
	snaps, stop := b.Subscribe()
	defer stop()
	tick := s.clock.NewTicker(30 * time.Second)
	defer tick.Stop()
	mute := s.mute
	if mute == nil {
		mute = newMuteWatch(nil)
	}
	var snap booth.Snapshot
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case snap = <-snaps:
		case <-tick.Chan():
		case <-mute.Changed():
		}
		appts, err := b.Appointments()
		if err != nil && err.Error() != lastErr {
			s.log.Warn("read appointments", "err", err)
		}
		lastErr = fmt.Sprint(err)
		if snap.State != booth.InCall {
			// The last call's pictures must not reappear in the next.
			s.display.SetRemoteFrame(nil)
			s.display.SetSelfFrame(nil)
		}
		s.display.SetView(s.view.view(snap, appts, s.clock.Now(), mute.Muted()))
	}
}

// muteWatch wraps the booth's Caller so the screen knows when the microphone is muted:
// the booth keeps that to itself. Calls that cannot mute are passed through unwrapped,
// so the booth still sees they cannot.
type muteWatch struct {
	booth.Caller
	mu      sync.Mutex
	muted   bool
	changed chan struct{}
}

func newMuteWatch(c booth.Caller) *muteWatch {
	return &muteWatch{Caller: c, changed: make(chan struct{}, 1)}
}

func (w *muteWatch) StartCall(ctx context.Context, p booth.CallParams) (booth.ActiveCall, error) {
	ac, err := w.Caller.StartCall(ctx, p)
	if err != nil {
		return nil, err
	}
	w.set(false) // every call starts with the microphone on
	if m, ok := ac.(booth.Muter); ok {
		return &mutingCall{ActiveCall: ac, m: m, w: w}, nil
	}
	return ac, nil
}

func (w *muteWatch) set(muted bool) {
	w.mu.Lock()
	changed := w.muted != muted
	w.muted = muted
	w.mu.Unlock()
	if changed {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

// Muted reports whether the current call's microphone is off.
func (w *muteWatch) Muted() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.muted
}

// Changed receives when Muted changes.
func (w *muteWatch) Changed() <-chan struct{} { return w.changed }

type mutingCall struct {
	booth.ActiveCall
	m booth.Muter
	w *muteWatch
}

var _ booth.Muter = (*mutingCall)(nil)

func (c *mutingCall) SetMuted(muted bool) error {
	if err := c.m.SetMuted(muted); err != nil {
		return err
	}
	c.w.set(muted)
	return nil
}
