package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

// maxJoinWindow is the longest join window a booth may be configured with
// (provisioning/config refuses more).
const maxJoinWindow = 2 * time.Hour

// maxClockSkew bounds how far in the future a booth's event time is believed.
const maxClockSkew = time.Minute

// outsideJoinWindow says why a patient may not arrive for a at t, or "" when they may: from
// the earliest a booth's join window can open (maxJoinWindow before the start) until the
// appointment's end, when a late patient can still be seen.
func outsideJoinWindow(a store.Appointment, t time.Time) string {
	open, shut := a.Start.Add(-maxJoinWindow), a.End
	if !t.Before(open) && t.Before(shut) {
		return ""
	}
	return fmt.Sprintf("appointment %s can be joined from %s until %s (UTC), not at %s",
		a.ID, open.UTC().Format("2006-01-02 15:04"), shut.UTC().Format("2006-01-02 15:04"), t.UTC().Format("2006-01-02 15:04"))
}

// deviceEvent applies one event from a booth's outbox, at most once per key, and always
// acknowledges it so the booth can forget it: applied, a duplicate, or refused for good
// (no longer legal, or not this booth's appointment). Must hold h.mu.
func (h *Hub) deviceEvent(c *client, m *signalling.Event) error {
	now := h.clock.Now()
	ack := &signalling.EventAck{Key: m.Key}
	a, err := h.store.Appointment(m.AppointmentID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && a.DeviceID != c.id):
		// The same answer for "no such appointment" and "not yours", so IDs cannot be probed.
		ack.Refused = fmt.Sprintf("appointment %s is not this device's", m.AppointmentID)
		h.metrics.deviceEvents.WithLabelValues("refused").Inc()
		if ok, n := c.sampled.allow("event not this device's"); ok {
			c.log.Warn("event for an appointment that is not this device's", "appointment", m.AppointmentID, "key", m.Key, "suppressed", n)
		}
		c.send(signalling.TypeEventAck, ack)
		return nil
	case err != nil:
		return err
	}
	lim := h.cfg.DeviceLimits
	// unkept acknowledges an event as refused without keeping it: the appointment already
	// holds as much from this booth as it may.
	unkept := func(why string) error {
		h.metrics.deviceEvents.WithLabelValues("refused").Inc()
		ack.Status, ack.Refused = a.Status, why
		if ok, n := c.sampled.allow("event not kept"); ok {
			c.log.Warn("booth event refused and not kept", "appointment", a.ID, "event", m.Event, "why", why, "suppressed", n)
		}
		c.send(signalling.TypeEventAck, ack)
		return nil
	}
	if a.BoothEvents >= lim.BoothEventsPerAppointment {
		return unkept(fmt.Sprintf("appointment %s already holds %d events from its booth, the most kept", a.ID, a.BoothEvents))
	}
	at := m.At
	if at.After(now.Add(maxClockSkew)) {
		at = now // a booth whose clock runs ahead does not get to queue-jump
	}
	in := store.EventInput{Key: m.Key, Event: m.Event, Actor: actorOf(c), At: at, Received: now}
	if in.Event == appointment.Arrive || in.Event == appointment.OpenWindow {
		if why := outsideJoinWindow(a, at); why != "" {
			return unkept(why)
		}
	}
	chain := []store.EventInput{in}
	_, w := h.findWaiter(a.ClinicID, a.ID)
	if in.Event == appointment.Arrive && w == nil {
		chain = h.arriveChain(a, in)
	}
	if a.RefusedEvents >= lim.RefusedEventsPerAppointment && !legal(a, chain) && !legal(a, chain[len(chain)-1:]) {
		_, err := appointment.Next(a.Status, in.Event, in.Actor.Kind)
		return unkept(fmt.Sprintf("%v (appointment %s already holds %d refused events, the most kept)", err, a.ID, a.RefusedEvents))
	}
	got, _, err := h.store.Apply(a.ID, chain...)
	if errors.Is(err, appointment.ErrIllegal) && len(chain) > 1 {
		// The chain is all or nothing; record the booth's own event as refused.
		got, _, err = h.store.Apply(a.ID, in)
	}
	switch {
	case errors.Is(err, store.ErrDuplicate):
		h.metrics.deviceEvents.WithLabelValues("duplicate").Inc()
		ack.Duplicate, ack.Status = true, a.Status
		c.send(signalling.TypeEventAck, ack)
		return nil
	case errors.Is(err, appointment.ErrIllegal):
		h.metrics.deviceEvents.WithLabelValues("refused").Inc()
		ack.Status, ack.Refused = got.Status, err.Error()
		if ok, n := c.sampled.allow("event refused"); ok {
			c.log.Info("booth event no longer applies", "appointment", a.ID, "event", m.Event, "key", m.Key, "why", err, "suppressed", n)
		}
		if in.Event == appointment.Arrive && w != nil && w.call == nil && w.c != c {
			w.c = c // the booth reconnected while waiting: the new connection takes the place
		}
		c.send(signalling.TypeEventAck, ack)
		return nil
	case err != nil:
		return err
	}
	h.metrics.deviceEvents.WithLabelValues("applied").Inc()
	ack.Status = got.Status
	switch in.Event {
	case appointment.Arrive:
		// Placed by the booth's arrival time, but never before the earliest a window can
		// open (a booth whose clock is wrong must not jump the queue) nor after now.
		since := at
		if floor := got.Start.Add(-maxJoinWindow); since.Before(floor) {
			since = floor
		}
		h.addWaiter(c, got, earlier(since, now))
	case appointment.Leave:
		if i, w := h.findWaiter(a.ClinicID, a.ID); w != nil {
			h.removeWaiter(a.ClinicID, i)
			h.pushQueue(a.ClinicID)
		}
	}
	c.send(signalling.TypeEventAck, ack)
	return nil
}

// legal reports whether the chain of events would apply to a, by the life cycle alone.
func legal(a store.Appointment, chain []store.EventInput) bool {
	s := a.Status
	for _, in := range chain {
		next, err := appointment.Next(s, in.Event, in.Actor.Kind)
		if err != nil {
			return false
		}
		s = next
	}
	return true
}

// earlier returns the earlier time.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ErrNotYours is returned by RecordOutcome for an appointment the caller may not see.
var ErrNotYours = errors.New("appointment is not visible to the caller")

// ClinicianActor is the actor of what the clinician p does.
func (p Identity) ClinicianActor() appointment.Actor {
	return appointment.Actor{Kind: appointment.ActorClinician, ID: p.Clinician.ID}
}

// recordOutcomeLocked is RecordOutcome for a caller holding h.mu (the signalling reader).
func (h *Hub) recordOutcomeLocked(p Identity, id, outcome string) (store.Appointment, error) {
	a, err := h.store.Appointment(id)
	if err != nil {
		return a, err
	}
	if !p.Sees(&a) {
		return a, fmt.Errorf("appointment %s: %w", id, ErrNotYours)
	}
	ev := appointment.MarkNoShow
	if outcome == signalling.OutcomeTelephone {
		ev = appointment.MoveTelephone
	}
	a, _, err = h.store.Apply(id, append(h.staleReset(a), h.event(ev, p.ClinicianActor()))...)
	if err != nil {
		return a, err
	}
	if i, w := h.findWaiter(a.ClinicID, a.ID); w != nil {
		if w.call != nil {
			cl := w.call
			delete(h.calls, cl.id)
			delete(cl.offerer.calls, cl.id)
			delete(cl.answerer.calls, cl.id)
			h.metrics.callsEnded.WithLabelValues(signalling.EndHangup).Inc()
			h.metrics.callsActive.Dec()
			for _, party := range []*client{cl.offerer, cl.answerer} {
				party.send(signalling.TypeEnd, &signalling.End{CallID: cl.id, Reason: signalling.EndHangup})
			}
		}
		h.removeWaiter(a.ClinicID, i)
		h.pushQueue(a.ClinicID)
	}
	h.pushSchedule(a.DeviceID)
	h.log.Info("outcome recorded", "appointment", id, "outcome", outcome, "clinician", p.Clinician.ID)
	return a, nil
}

// outcomeRefusal maps RecordOutcome's errors to the signalling channel's.
func outcomeRefusal(seq uint64, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrNotYours):
		return refuse(signalling.CodeUnknownAppointment, seq, "no appointment %q", id)
	case errors.Is(err, appointment.ErrIllegal):
		return refuse(signalling.CodeConflict, seq, "%v", err)
	}
	return err
}

// sendPushes sends a device its queued pushes, oldest first. Must hold h.mu.
func (h *Hub) sendPushes(c *client) {
	ps, err := h.store.Pushes(c.id)
	if err != nil {
		c.log.Error("loading queued pushes", "err", err)
		return
	}
	for _, p := range ps {
		h.sendPush(c, p)
	}
}

func (h *Hub) sendPush(c *client, p store.Push) {
	switch p.Type {
	case store.PushSettings:
		var set store.DeviceSettings
		if err := json.Unmarshal(p.Body, &set); err != nil {
			c.log.Error("decoding queued settings", "seq", p.Seq, "err", err)
			return
		}
		c.send(signalling.TypeSettings, &signalling.Settings{Seq: p.Seq, JoinMode: set.JoinMode})
	case store.PushConfig:
		var cp ConfigPush
		if err := json.Unmarshal(p.Body, &cp); err != nil {
			c.log.Error("decoding queued config", "seq", p.Seq, "err", err)
			return
		}
		c.send(signalling.TypeConfig, &signalling.Config{Seq: p.Seq, Version: cp.Version, Document: cp.Document})
	default:
		c.log.Error("unknown queued push", "type", p.Type, "seq", p.Seq)
	}
}

// refreshSchedule re-sends a device its schedule when scheduleRefresh has passed since the
// last one, so the window it caches moves on.
func (h *Hub) refreshSchedule(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.hello && h.clock.Since(c.schedAt) >= scheduleRefresh {
		h.sendSchedule(c)
	}
}

// configAck records what a device did with a remote config, and acknowledges its push.
// A refusal or rollback leaves the version the device runs as it was. Must hold h.mu.
func (h *Hub) configAck(c *client, m *signalling.ConfigAck) error {
	if m.Seq != 0 {
		if err := h.store.AckPushes(c.id, m.Seq); err != nil {
			return err
		}
	}
	d, err := h.store.Device(c.id)
	if err != nil {
		return err
	}
	st := store.ConfigStatus{Version: d.ConfigVersion}
	switch m.Result {
	case signalling.ConfigApplied:
		st = store.ConfigStatus{Version: m.Version}
	case signalling.ConfigRefused:
		st.Error = fmt.Sprintf("refused version %d: %s", m.Version, m.Reason)
	case signalling.ConfigRolledBack:
		st.Error = fmt.Sprintf("rolled back version %d: %s", m.Version, m.Reason)
	}
	if _, err := h.store.SetDeviceConfigStatus(c.id, st); err != nil {
		return err
	}
	c.log.Info("remote config reported", "version", m.Version, "result", m.Result, "reason", m.Reason)
	return nil
}
