package hub

import (
	"errors"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/store"
)

// appointmentFor loads an appointment for a signalling request, mapping store errors.
func (h *Hub) appointment(seq uint64, id string) (store.Appointment, error) {
	a, err := h.store.Appointment(id)
	if errors.Is(err, store.ErrNotFound) {
		return a, refuse(signalling.CodeUnknownAppointment, seq, "no appointment %q", id)
	}
	return a, err
}

func (h *Hub) findWaiter(clinic, appt string) (int, *waiter) {
	for i, w := range h.waiting[clinic] {
		if w.appt.ID == appt {
			return i, w
		}
	}
	return -1, nil
}

// actorOf is the life-cycle actor for a connection.
func actorOf(c *client) appointment.Actor {
	if c.role == signalling.RoleDevice {
		return appointment.Actor{Kind: appointment.ActorDevice, ID: c.id}
	}
	return appointment.Actor{Kind: appointment.ActorClinician, ID: c.id}
}

// now returns an EventInput for ev by actor, happening now.
func (h *Hub) event(ev appointment.Event, actor appointment.Actor) store.EventInput {
	now := h.clock.Now()
	return store.EventInput{Event: ev, Actor: actor, At: now, Received: now}
}

// staleReset returns the events that bring an appointment whose stored status says a
// patient is present (waiting or in a call) back to scheduled when the hub has no such
// patient: after a switchboard restart the store still says so, but the booth is gone.
// Must hold h.mu.
func (h *Hub) staleReset(a store.Appointment) []store.EventInput {
	if a.Status != appointment.Waiting && a.Status != appointment.InCall {
		return nil
	}
	if _, w := h.findWaiter(a.ClinicID, a.ID); w != nil {
		return nil
	}
	return []store.EventInput{h.event(appointment.DeviceLost, appointment.System)}
}

// arriveChain returns the events that put a patient in the waiting room from a's status:
// a stale reset if needed, the window opening (the system notices: the booth is here),
// then arrive itself. Must hold h.mu.
func (h *Hub) arriveChain(a store.Appointment, arrive store.EventInput) []store.EventInput {
	chain := h.staleReset(a)
	status := a.Status
	if len(chain) > 0 {
		status = appointment.Scheduled
	}
	if status == appointment.Scheduled {
		chain = append(chain, h.event(appointment.OpenWindow, appointment.System))
	}
	return append(chain, arrive)
}

func (h *Hub) arrive(c *client, seq uint64, id string) error {
	a, err := h.appointment(seq, id)
	if err != nil {
		return err
	}
	if a.DeviceID != c.id {
		return refuse(signalling.CodeForbidden, seq, "appointment %s is not this device's", id)
	}
	if a.Status.Final() {
		return refuse(signalling.CodeUnknownAppointment, seq, "appointment %s is %s", id, a.Status)
	}
	if err := outsideJoinWindow(a, h.clock.Now()); err != "" {
		return refuse(signalling.CodeConflict, seq, "%s", err)
	}
	if _, w := h.findWaiter(a.ClinicID, a.ID); w != nil {
		if w.call != nil {
			return refuse(signalling.CodeConflict, seq, "appointment %s is already in a call", id)
		}
		if w.c != c { // the booth reconnected: the new connection takes the place
			w.c = c
			h.pushQueue(a.ClinicID)
		}
		return nil
	}
	a, _, err = h.store.Apply(a.ID, h.arriveChain(a, h.event(appointment.Arrive, actorOf(c)))...)
	if errors.Is(err, appointment.ErrIllegal) {
		return refuse(signalling.CodeConflict, seq, "appointment %s: %v", id, err)
	}
	if err != nil {
		return err
	}
	h.addWaiter(c, a, h.clock.Now())
	h.pushSchedule(a.DeviceID)
	return nil
}

// addWaiter puts c in a's clinic's waiting room, keeping it ordered by arrival. Must
// hold h.mu.
func (h *Hub) addWaiter(c *client, a store.Appointment, since time.Time) {
	room := h.waiting[a.ClinicID]
	i := len(room)
	for i > 0 && room[i-1].since.After(since) {
		i--
	}
	h.waiting[a.ClinicID] = append(room[:i:i], append([]*waiter{{appt: a, c: c, since: since}}, room[i:]...)...)
	c.log.Info("patient arrived", "appointment", a.ID)
	h.pushQueue(a.ClinicID)
}

func (h *Hub) leave(c *client, seq uint64, id string) error {
	i, w := h.findWaiter(c.clinic, id)
	if w == nil || w.c.id != c.id {
		return refuse(signalling.CodeUnknownAppointment, seq, "appointment %s is not in the waiting room", id)
	}
	if w.call != nil {
		return refuse(signalling.CodeConflict, seq, "appointment %s is in a call: send end instead", id)
	}
	if _, _, err := h.store.Apply(id, h.event(appointment.Leave, actorOf(c))); err != nil {
		return err
	}
	h.removeWaiter(c.clinic, i)
	h.pushQueue(c.clinic)
	h.pushSchedule(c.id)
	return nil
}

func (h *Hub) removeWaiter(clinic string, i int) {
	room := h.waiting[clinic]
	h.waiting[clinic] = append(room[:i:i], room[i+1:]...)
	if len(h.waiting[clinic]) == 0 {
		delete(h.waiting, clinic)
	}
}

func (h *Hub) admit(c *client, seq uint64, id string) error {
	a, err := h.appointment(seq, id)
	if err != nil {
		return err
	}
	if a.ClinicID != c.clinic {
		return refuse(signalling.CodeForbidden, seq, "appointment %s is another clinic's", id)
	}
	_, w := h.findWaiter(a.ClinicID, a.ID)
	if w == nil {
		return refuse(signalling.CodeConflict, seq, "the patient of appointment %s is not in the waiting room", id)
	}
	if w.call != nil {
		return refuse(signalling.CodeConflict, seq, "appointment %s has already been admitted", id)
	}
	admit := h.event(appointment.Admit, actorOf(c))
	admit.CallID = store.NewID()
	if _, _, err := h.store.Apply(a.ID, admit); err != nil {
		if errors.Is(err, appointment.ErrIllegal) {
			return refuse(signalling.CodeConflict, seq, "appointment %s: %v", id, err)
		}
		return err
	}
	now := h.clock.Now()
	cl := &call{id: admit.CallID, appt: a.ID, clinic: a.ClinicID, offerer: c, answerer: w.c, admitted: now}
	w.call = cl
	h.calls[cl.id] = cl
	c.calls[cl.id] = cl
	w.c.calls[cl.id] = cl
	h.metrics.callsStarted.Inc()
	h.metrics.callsActive.Inc()
	h.metrics.waitSeconds.Observe(now.Sub(w.since).Seconds())
	c.send(signalling.TypeCall, &signalling.Call{CallID: cl.id, AppointmentID: a.ID, Role: signalling.CallOfferer, Peer: a.Patient, ICEServers: h.iceServers(c)})
	w.c.send(signalling.TypeCall, &signalling.Call{CallID: cl.id, AppointmentID: a.ID, Role: signalling.CallAnswerer, Peer: c.name, ICEServers: h.iceServers(w.c)})
	c.log.Info("call started", "call", cl.id, "appointment", a.ID)
	h.record(c, audit.Admit, a, "call "+cl.id)
	h.pushQueue(a.ClinicID)
	h.pushSchedule(a.DeviceID)
	return nil
}

func (cl *call) other(c *client) *client {
	if c == cl.offerer {
		return cl.answerer
	}
	return cl.offerer
}

// callOf finds a call that c is a party of.
func (h *Hub) callOf(c *client, seq uint64, id string) (*call, error) {
	cl := c.calls[id]
	if cl == nil {
		return nil, refuse(signalling.CodeNotInCall, seq, "this connection is not in call %s", id)
	}
	return cl, nil
}

func (h *Hub) relaySDP(c *client, seq uint64, t signalling.Type, m *signalling.SDP) error {
	cl, err := h.callOf(c, seq, m.CallID)
	if err != nil {
		return err
	}
	switch t {
	case signalling.TypeOffer:
		if c != cl.offerer {
			return refuse(signalling.CodeOutOfOrder, seq, "only the offerer (the clinician) sends offers")
		}
		if cl.offered && !cl.answered {
			return refuse(signalling.CodeOutOfOrder, seq, "the previous offer has not been answered")
		}
		cl.offered, cl.answered = true, false
	case signalling.TypeAnswer:
		if c != cl.answerer {
			return refuse(signalling.CodeOutOfOrder, seq, "only the answerer (the booth) sends answers")
		}
		if !cl.offered || cl.answered {
			return refuse(signalling.CodeOutOfOrder, seq, "there is no offer to answer")
		}
		cl.answered = true
		cl.restartAt = time.Time{}
		if !cl.setupSet {
			cl.setupSet = true
			h.metrics.answerSeconds.Observe(h.clock.Since(cl.admitted).Seconds())
		}
	}
	cl.other(c).send(t, m)
	return nil
}

// relayRestart passes the answerer's ICE restart request to the offerer, who answers it
// with a new offer. Refused from anyone but the call's answerer, before the first offer
// is answered, and while another restart is in flight (signalling.RestartTimeout).
func (h *Hub) relayRestart(c *client, seq uint64, m *signalling.Restart) error {
	cl, err := h.callOf(c, seq, m.CallID)
	if err != nil {
		return err
	}
	if c != cl.answerer {
		return refuse(signalling.CodeForbidden, seq, "only the answerer (the booth) asks for an ice restart")
	}
	if !cl.answered {
		return refuse(signalling.CodeOutOfOrder, seq, "call %s has no answered offer to restart", cl.id)
	}
	if !cl.restartAt.IsZero() {
		if since := h.clock.Since(cl.restartAt); since < signalling.RestartTimeout {
			return refuse(signalling.CodeConflict, seq, "an ice restart of call %s is already in flight (asked %v ago): wait for its offer", cl.id, since.Round(time.Millisecond))
		}
	}
	cl.restartAt = h.clock.Now()
	c.log.Info("ice restart asked", "call", cl.id, "reason", m.Reason)
	cl.offerer.send(signalling.TypeRestart, m)
	return nil
}

// endCall ends cl on behalf of from, telling the other party. Only a person ends an
// appointment (a hangup, or a call that failed while both stayed connected). A lost
// connection does not: when the clinician's goes, the patient goes back to the waiting room
// so the clinician can admit them again after reloading; when the booth's goes (Wi-Fi, a
// power cut), the appointment goes back to scheduled so the booth can rejoin when it is back.
//
// A call whose media failed while both parties stayed connected is not a consultation
// either: the patient waits again. This also settles the race of a clinician's page
// reload, whose media dies before the switchboard sees its connection go.
func (h *Hub) endCall(cl *call, from *client, reason string, lost bool) error {
	ev := h.event(appointment.End, actorOf(from))
	backToWaiting := lost && from == cl.offerer
	switch {
	case backToWaiting:
		ev = h.event(appointment.ClinicianLost, appointment.System)
	case lost:
		ev = h.event(appointment.DeviceLost, appointment.System)
	case reason == signalling.EndFailed:
		ev = h.event(appointment.CallFailed, actorOf(from))
		backToWaiting = true
	}
	if _, _, err := h.store.Apply(cl.appt, ev); err != nil {
		// The call is over whatever the store says; a status that no longer allows this
		// (say, moved to the telephone meanwhile) stays as it is.
		from.log.Warn("recording the end of a call", "call", cl.id, "appointment", cl.appt, "err", err)
	}
	h.record(from, audit.CallEnd, store.Appointment{ID: cl.appt, ClinicID: cl.clinic}, "call "+cl.id+", "+reason)
	h.forgetCall(cl, from, reason, backToWaiting)
	return nil
}

// record tells the audit log that c did action to appointment a (named by ID only, never
// the patient). Must hold h.mu.
func (h *Hub) record(c *client, action audit.Action, a store.Appointment, detail string) {
	e := audit.Entry{At: h.clock.Now(), Action: action, Target: a.ID, ClinicID: a.ClinicID, Detail: detail, Addr: c.addr}
	switch {
	case c.role == signalling.RoleDevice:
		e.ActorKind, e.Actor = audit.ByDevice, c.id
	case c.p.Clinician != nil:
		e.ActorKind, e.Actor = audit.ByClinician, c.p.Clinician.Username
	default:
		e.ActorKind, e.Actor = audit.BySystem, c.id
	}
	h.audit(e)
}

// forgetCall takes an ended call out of the hub and tells the other party. Must hold h.mu.
func (h *Hub) forgetCall(cl *call, from *client, reason string, backToWaiting bool) {
	delete(h.calls, cl.id)
	delete(cl.offerer.calls, cl.id)
	delete(cl.answerer.calls, cl.id)
	h.metrics.callsEnded.WithLabelValues(reason).Inc()
	h.metrics.callsActive.Dec()
	if i, w := h.findWaiter(cl.clinic, cl.appt); w != nil {
		if backToWaiting {
			w.call = nil
		} else {
			h.removeWaiter(cl.clinic, i)
		}
	}
	// Tell the other party only once every effect is in place, so that whatever it does
	// next (or a test reading metrics) sees them.
	cl.other(from).send(signalling.TypeEnd, &signalling.End{CallID: cl.id, Reason: reason})
	from.log.Info("call ended", "call", cl.id, "reason", reason)
	h.pushQueue(cl.clinic)
	h.pushSchedule(cl.answerer.id)
}

// drop forgets a connection that has gone: its calls end with peer_lost and a device's
// patients leave the waiting room.
func (h *Hub) drop(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !c.hello {
		return
	}
	for _, cl := range c.calls {
		if err := h.endCall(cl, c, signalling.EndPeerLost, true); err != nil {
			c.log.Error("ending call of lost connection", "call", cl.id, "err", err)
		}
	}
	if c.role == signalling.RoleDevice {
		delete(h.devices[c.id], c)
		if len(h.devices[c.id]) == 0 {
			delete(h.devices, c.id)
		}
		changed := false
		for i := len(h.waiting[c.clinic]) - 1; i >= 0; i-- {
			w := h.waiting[c.clinic][i]
			if w.c != c {
				continue
			}
			if _, _, err := h.store.Apply(w.appt.ID, h.event(appointment.DeviceLost, appointment.System)); err != nil {
				c.log.Error("resetting appointment of lost device", "appointment", w.appt.ID, "err", err)
			}
			h.removeWaiter(c.clinic, i)
			changed = true
		}
		if changed {
			h.pushQueue(c.clinic)
		}
		h.pushDevices(c.clinic)
	}
	if c.role == signalling.RoleClinician || c.clinicRoom {
		delete(h.clinicians[c.clinic], c)
		if len(h.clinicians[c.clinic]) == 0 {
			delete(h.clinicians, c.clinic)
		}
	}
	if c.staff {
		delete(h.staff[c.clinic], c)
		if len(h.staff[c.clinic]) == 0 {
			delete(h.staff, c.clinic)
		}
	}
	h.metrics.connections.WithLabelValues(string(c.role)).Dec()
}

// queueLocked builds a clinic's waiting room. Must hold h.mu.
func (h *Hub) queueLocked(clinic string) *signalling.Queue {
	q := &signalling.Queue{ClinicID: clinic, Entries: []signalling.QueueEntry{}}
	for _, w := range h.waiting[clinic] {
		q.Entries = append(q.Entries, signalling.QueueEntry{
			AppointmentID: w.appt.ID, DeviceID: w.appt.DeviceID, Patient: w.appt.Patient,
			Start: w.appt.Start, Since: w.since.UTC(), InCall: w.call != nil,
		})
	}
	return q
}

// pushQueue sends a clinic's waiting room to its clinicians. Must hold h.mu.
func (h *Hub) pushQueue(clinic string) {
	q := h.queueLocked(clinic)
	h.metrics.waitingRoom.WithLabelValues(clinic).Set(float64(len(q.Entries)))
	for c := range h.clinicians[clinic] {
		c.send(signalling.TypeQueue, q)
	}
	h.pushDevices(clinic)
}

// pushSchedule sends a device's schedule to its connections. Must hold h.mu.
func (h *Hub) pushSchedule(deviceID string) {
	for c := range h.devices[deviceID] {
		h.sendSchedule(c)
	}
}

func (h *Hub) sendSchedule(c *client) {
	now := h.clock.Now()
	as, err := h.store.AppointmentsByDevice(c.id, now.Add(-scheduleBefore), now.Add(scheduleAfter))
	if err != nil {
		c.log.Error("loading schedule", "err", err)
		return
	}
	clinics := map[string]store.Clinic{}
	sch := &signalling.Schedule{Appointments: []signalling.Appointment{}}
	for _, a := range as {
		if _, ok := clinics[a.ClinicID]; !ok {
			if cl, err := h.store.Clinic(a.ClinicID); err == nil {
				clinics[a.ClinicID] = cl
			}
		}
		cl := clinics[a.ClinicID]
		sch.Appointments = append(sch.Appointments, signalling.Appointment{
			ID: a.ID, ClinicID: a.ClinicID, ClinicName: cl.Name, ClinicPhone: cl.Phone, DeviceID: a.DeviceID,
			Patient: a.Patient, Start: a.Start, End: a.End, Status: a.Status,
		})
	}
	c.send(signalling.TypeSchedule, sch)
	c.schedAt = now
}

// iceServers are the ICE servers handed to c for a call: the configured ones, and the
// relay with credentials for c alone. A relay that cannot issue is logged, and the call
// goes on without it.
func (h *Hub) iceServers(c *client) []signalling.ICEServer {
	out := h.cfg.ICEServers
	if h.cfg.Relay == nil {
		return out
	}
	s, err := h.cfg.Relay(c.id)
	if err != nil {
		c.log.Error("TURN credentials", "err", err)
		return out
	}
	return append(out[:len(out):len(out)], s)
}
