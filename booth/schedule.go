package booth

import (
	"context"
	"errors"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
)

// The schedule's side of the booth: which appointment's join window is open, when to
// join it, and the events and End decisions recorded for it. All of it runs on the loop
// goroutine.

// schedState is where the booth stands in its appointments: which window is open, what it
// arrived for, what it will not join by itself, and what it shows. Owned by the loop.
type schedState struct {
	joinMode  device.JoinMode
	state     State
	offline   bool
	revoked   bool      // the switchboard said IT has revoked this device
	nextAppt  string    // the next appointment whose window has not opened
	nextAt    time.Time // when that window opens
	tooEarly  bool      // Join pressed before any window was open
	current   string    // appointment whose window is open
	waiting   string    // appointment arrived for
	arrivedAt time.Time // first arrive for waiting
	// presence: after the link returned while waiting, say arrive again once the outbox
	// is delivered (the switchboard took the booth out of the room when the link dropped).
	presence bool
	left     map[string]bool // appointments with an End press in force (kept in the store too): no auto re-arrive
	done     map[string]bool // appointments whose call ended (also marked in the store)
	timer    clockwork.Timer // wakes the loop at the next window edge
}

// joinable reports whether the booth may still join a.
func (b *Booth) joinable(a Appointment) bool {
	if a.Done || b.sched.done[a.ID] {
		return false
	}
	switch a.Status {
	case "canceled", "done", "completed":
		return false
	}
	return !a.Status.Final() && !a.Local.Final()
}

// evaluate works out the state from the schedule and the clock, arrives in auto mode at
// the start time, and sets the timer for the next moment anything changes.
func (b *Booth) evaluate(ctx context.Context) {
	now := b.clock.Now()
	all, err := b.store.Upcoming(now)
	if err != nil {
		b.link.warn("read appointments", "err", err)
		return
	}
	var appts []Appointment
	for _, a := range all {
		if b.joinable(a) {
			appts = append(appts, a)
		}
	}
	b.sched.current, b.sched.nextAppt, b.sched.nextAt = "", "", time.Time{}
	next := time.Time{}
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	// Timers run on the monotonic clock, the schedule on the wall clock. A Raspberry Pi has
	// no real-time clock and NTP may step its wall clock long after boot, so look again at
	// least every recheckEvery rather than trusting one long timer.
	consider(now.Add(recheckEvery))
	defer func() {
		// Reset re-arms a running timer in one step, so the clock never sees it missing
		// (tests count the fake clock's waiters). Until, not next.Sub(now): if the clock
		// moved on while we decided, the timer fires at once rather than late.
		switch {
		case next.IsZero() && b.sched.timer != nil:
			b.sched.timer.Stop()
		case next.IsZero():
		case b.sched.timer == nil:
			b.sched.timer = b.clock.NewTimer(b.clock.Until(next))
		default:
			b.sched.timer.Reset(b.clock.Until(next))
		}
	}()

	if b.call != nil {
		b.sched.state = InCall
		return
	}
	if b.sched.waiting != "" {
		for _, a := range appts {
			if a.ID == b.sched.waiting {
				b.sched.state = Waiting
				consider(a.End)
				return
			}
		}
		b.log.Info("appointment over, cancelled or closed while waiting; leaving the waiting room", "appointment", b.sched.waiting)
		if a, err := b.store.Get(b.sched.waiting); err != nil || !a.Status.Final() {
			if err := b.link.send(ctx, signalling.TypeLeave, &signalling.Leave{AppointmentID: b.sched.waiting}); err != nil && !errors.Is(err, errOffline) {
				b.log.Warn("send leave", "err", err)
			}
		}
		b.sched.waiting = ""
	}
	b.sched.state = Idle
	for _, a := range appts {
		open := a.Start.Add(-b.cfg.JoinWindow)
		consider(open)
		consider(a.End)
		if b.sched.joinMode == device.JoinAuto {
			consider(a.Start)
		}
		if b.sched.current == "" && !now.Before(open) {
			b.sched.current = a.ID
			b.sched.state = JoinWindow
			b.sched.tooEarly = false
			if localOf(a) == appointment.Scheduled {
				b.record(ctx, a.ID, appointment.OpenWindow)
			}
			if b.sched.joinMode == device.JoinAuto && !now.Before(a.Start) && !b.sched.left[a.ID] {
				b.arrive(ctx, a.ID)
			}
		}
		if b.sched.current == "" && b.sched.nextAppt == "" && now.Before(open) {
			b.sched.nextAppt, b.sched.nextAt = a.ID, open
		}
	}
}

// record appends an event to the durable outbox and sends it if the link is up. It
// reports whether the event was recorded: one the life cycle does not allow from the
// booth's view of the appointment is not.
func (b *Booth) record(ctx context.Context, id string, ev appointment.Event) bool {
	e, err := b.store.Record(id, ev, b.clock.Now())
	if err != nil {
		if errors.Is(err, appointment.ErrIllegal) {
			b.log.Debug("event not recorded", "appointment", id, "event", ev, "why", err)
		} else {
			b.log.Error("record event", "appointment", id, "event", ev, "err", err)
		}
		return false
	}
	b.out.added(ctx, e, !b.sched.offline)
	return true
}

// decide keeps an End press (or, with NoEndPress, Join undoing it) for appointment id,
// durably and in one transaction with ev when there is one, before the screen can show
// it. It reports whether ev was recorded, as record does.
func (b *Booth) decide(ctx context.Context, id string, end EndPress, ev appointment.Event) bool {
	if end == NoEndPress {
		delete(b.sched.left, id)
	} else {
		b.sched.left[id] = true // holds until a restart even if the store fails
	}
	e, recorded, err := b.store.Decide(id, end, ev, b.clock.Now())
	switch {
	case err != nil:
		b.log.Error("keep End press", "appointment", id, "end_press", end, "event", ev, "err", err)
		return false
	case !recorded:
		if ev != "" {
			b.log.Debug("event not recorded: the booth's view of the appointment does not allow it", "appointment", id, "event", ev)
		}
		return false
	}
	b.out.added(ctx, e, !b.sched.offline)
	return true
}

func (b *Booth) arrive(ctx context.Context, id string) {
	b.sched.waiting, b.sched.arrivedAt, b.sched.state = id, b.clock.Now(), Waiting
	if a, err := b.store.Get(id); err == nil && localOf(a) == appointment.Scheduled {
		b.record(ctx, id, appointment.OpenWindow)
	}
	if b.decide(ctx, id, NoEndPress, appointment.Arrive) {
		b.log.Info("arrived in the waiting room", "appointment", id, "offline", b.sched.offline)
		return
	}
	// By the booth's own record it is in the room already (the clinician's connection
	// dropped, say): say so live, which the switchboard takes as harmless.
	err := b.link.send(ctx, signalling.TypeArrive, &signalling.Arrive{AppointmentID: id})
	switch {
	case errors.Is(err, errOffline):
		b.log.Info("arrived while offline; telling the switchboard when the link is back", "appointment", id)
	case err != nil:
		b.log.Warn("send arrive; resending when the link is back", "appointment", id, "err", err)
	default:
		b.log.Info("arrived in the waiting room", "appointment", id)
	}
}

func (b *Booth) markDone(id string) {
	b.sched.done[id] = true
	b.sched.waiting = ""
	if err := b.store.MarkDone(id); err != nil && !errors.Is(err, ErrNotFound) {
		b.log.Warn("mark appointment done", "appointment", id, "err", err)
	}
}

// sayPresence tells the switchboard, once the outbox has been delivered after the link
// returned, that the booth is still waiting.
func (b *Booth) sayPresence(ctx context.Context) {
	if !b.sched.presence || b.sched.offline || b.sched.waiting == "" || b.out.pending > 0 {
		return
	}
	b.sched.presence = false
	if err := b.link.send(ctx, signalling.TypeArrive, &signalling.Arrive{AppointmentID: b.sched.waiting}); err != nil {
		b.log.Warn("resend arrive", "appointment", b.sched.waiting, "err", err)
	}
}

// onSettings applies settings the switchboard pushed, once per seq, and acknowledges
// them (again, if they were applied before the last acknowledgement got lost).
func (b *Booth) onSettings(ctx context.Context, m *signalling.Settings) {
	cur, err := b.store.Settings()
	if err != nil {
		b.log.Error("read settings", "err", err)
		return
	}
	if m.Seq > cur.Seq {
		// booth.db's Settings keeps the join mode as a string.
		if err := b.store.SaveSettings(Settings{Seq: m.Seq, JoinMode: m.JoinMode}); err != nil {
			b.log.Error("store pushed settings; not acknowledging them", "err", err)
			return
		}
		if m.JoinMode != b.sched.joinMode {
			b.log.Info("join mode changed by the switchboard", "from", b.sched.joinMode, "to", m.JoinMode)
		}
		b.sched.joinMode = m.JoinMode
	}
	if err := b.link.send(ctx, signalling.TypeSettingsAck, &signalling.SettingsAck{Seq: m.Seq}); err != nil {
		b.log.Warn("acknowledge settings", "seq", m.Seq, "err", err)
	}
}

// remoteConnected sends the remote config reports due on a new connection (a trial
// committed, an earlier rollback).
func (b *Booth) remoteConnected(ctx context.Context) {
	if b.remote == nil {
		return
	}
	for _, a := range b.remote.Connected() {
		if err := b.link.send(ctx, signalling.TypeConfigAck, a); err != nil {
			b.log.Warn("report remote config; again on the next connection", "version", a.Version, "err", err)
			return
		}
		b.remote.Reported(a)
	}
}

// onConfig hands a pushed config document to the remote config controller and sends its
// answer, if it has one now.
func (b *Booth) onConfig(ctx context.Context, m *signalling.Config) {
	if b.remote == nil {
		b.log.Debug("remote config ignored: not handled by this booth", "version", m.Version)
		return
	}
	a := b.remote.Offer(m)
	if a == nil {
		return
	}
	if err := b.link.send(ctx, signalling.TypeConfigAck, a); err != nil {
		b.log.Warn("acknowledge remote config", "version", m.Version, "err", err)
	}
}
