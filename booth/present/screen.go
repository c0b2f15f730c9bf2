package present

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/screen"
)

// ScreenConfig is what a Screen needs besides the booth's snapshots.
type ScreenConfig struct {
	Problem  string         // a missing camera, microphone or speaker (screen.Problem*), or ""
	AutoJoin bool           // the configured join mode is auto (the snapshot's mode wins)
	Location *time.Location // where times are shown; nil is UTC
	Clock    clockwork.Clock
	Logger   *slog.Logger
}

// Screen works out what the screen shows from the booth's state. It remembers when the
// booth entered the waiting room, so one Screen serves one display; its methods must not
// be called concurrently.
type Screen struct {
	problem      string
	autoJoin     bool
	loc          *time.Location
	clock        clockwork.Clock
	log          *slog.Logger
	waitingFor   string
	waitingSince time.Time
}

// NewScreen returns a Screen for cfg. A nil Clock is the real clock, a nil Logger
// discards.
func NewScreen(cfg ScreenConfig) *Screen {
	s := &Screen{problem: cfg.Problem, autoJoin: cfg.AutoJoin, loc: cfg.Location, clock: cfg.Clock, log: cfg.Logger}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "present")
	return s
}

// View maps a Snapshot and the booth's upcoming appointments at now to the screen. Offline
// while in an appointment's window, waiting or in a call shows Reconnecting; offline and
// idle still shows the next appointment from the cache. The clinic-room appliance shows
// its waiting room.
func (m *Screen) View(s booth.Snapshot, appts []booth.Appointment, now time.Time) screen.View {
	v := screen.View{Location: m.loc, AutoJoin: m.autoJoin, Muted: s.Muted, VideoPaused: s.VideoPaused, TooEarly: s.TooEarly, JoinOpens: s.NextWindowAt}
	if s.JoinMode != "" { // the mode in force, which the switchboard may have changed
		v.AutoJoin = s.JoinMode == device.JoinAuto
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
	if s.Role == device.RoleClinic && s.State != booth.InCall {
		v.Kind = screen.WaitingRoom
		if s.Queue != nil {
			for _, e := range s.Queue.Entries {
				v.Queue = append(v.Queue, screen.Waiter{Name: e.Patient, Since: e.Since, InCall: e.InCall})
			}
		}
	}
	if m.problem != "" && (s.State == booth.Idle || s.State == booth.JoinWindow) && s.Role != device.RoleClinic {
		// Never over a waiting patient or a call: those go on as well as they can.
		v.Kind, v.Problem = screen.Fault, m.problem
	}
	if s.Help && s.State != booth.InCall {
		v.Kind = screen.HelpRequested // staff were told (the switchboard confirmed it)
		v.HelpComingFrom = s.HelpComingFrom
	}
	if s.Offline && (s.State != booth.Idle || s.Role == device.RoleClinic) {
		v.Kind = screen.Reconnecting
	}
	if s.Revoked { // over everything: nothing on the booth works any more
		v.Kind = screen.Revoked
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

// Source is the booth as the screen follows it: *booth.Booth.
type Source interface {
	Subscribe() (<-chan booth.Snapshot, func())
	Appointments() ([]booth.Appointment, error)
}

var _ Source = (*booth.Booth)(nil)

// Display is what the screen draws on: *screen.Display.
type Display interface {
	SetView(screen.View)
	SetRemoteFrame(*image.YCbCr)
	SetSelfFrame(*image.YCbCr)
}

var _ Display = (*screen.Display)(nil)

// Follow keeps d showing b's state until ctx is done. The schedule can change without the
// state changing, so the appointments are read again every 30 s (by the Screen's clock).
// Outside a call the call's pictures are cleared, so they cannot reappear in the next.
func (m *Screen) Follow(ctx context.Context, b Source, d Display) error {
	snaps, stop := b.Subscribe()
	defer stop()
	tick := m.clock.NewTicker(30 * time.Second)
	defer tick.Stop()
	var snap booth.Snapshot
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case snap = <-snaps:
		case <-tick.Chan():
		}
		appts, err := b.Appointments()
		if err != nil && err.Error() != lastErr {
			m.log.Warn("read appointments", "err", err)
		}
		lastErr = fmt.Sprint(err)
		if snap.State != booth.InCall {
			d.SetRemoteFrame(nil)
			d.SetSelfFrame(nil)
		}
		d.SetView(m.View(snap, appts, m.clock.Now()))
	}
}
