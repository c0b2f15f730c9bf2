package hub

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

// The methods here are the HTTP API's way into the hub. Each takes h.mu, so that what
// the API changes and what connections are told cannot interleave with a connection's own
// changes.

// Queue returns a clinic's waiting room.
func (h *Hub) Queue(clinic string) *signalling.Queue {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.queueLocked(clinic)
}

// AppointmentsChanged re-sends a device's schedule after the API changed its appointments.
func (h *Hub) AppointmentsChanged(deviceID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pushSchedule(deviceID)
}

// CancelAppointment cancels an appointment for the API. A waiting patient leaves the waiting room;
// an appointment in a call or ended cannot be cancelled.
func (h *Hub) CancelAppointment(id string, actor appointment.Actor) (store.Appointment, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, err := h.store.Appointment(id)
	if err != nil {
		return a, err
	}
	switch {
	case a.Status == appointment.Cancelled:
		return a, nil
	case a.Status.Final():
		return a, fmt.Errorf("appointment %s is %s: %w", a.ID, a.Status, ErrEnded)
	case a.Status == appointment.InCall:
		if _, w := h.findWaiter(a.ClinicID, a.ID); w != nil && w.call != nil {
			return a, ErrInCall
		}
	}
	a, _, err = h.store.Apply(id, append(h.staleReset(a), h.event(appointment.Cancel, actor))...)
	if err != nil {
		return a, err
	}
	if i, w := h.findWaiter(a.ClinicID, a.ID); w != nil {
		h.removeWaiter(a.ClinicID, i)
		h.pushQueue(a.ClinicID)
	}
	h.pushSchedule(a.DeviceID)
	return a, nil
}

// RecordOutcome records a no-show or a move to the telephone for a clinician. A call in
// progress ends (both parties get end{hangup}) and a waiting patient leaves the waiting
// room.
func (h *Hub) RecordOutcome(p Identity, id, outcome string) (store.Appointment, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.recordOutcomeLocked(p, id, outcome)
}

// SetDeviceSettings stores a device's settings, queues them durably and sends them to
// its connections now if it has any; otherwise it gets them when it reconnects.
func (h *Hub) SetDeviceSettings(id string, set store.DeviceSettings) (store.Device, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, p, err := h.store.SetDeviceSettings(id, set, h.clock.Now())
	if err != nil {
		return d, false, err
	}
	for c := range h.devices[id] {
		h.sendPush(c, p)
	}
	return d, len(h.devices[id]) > 0, nil
}

// ConfigPush is the body of a store.PushConfig push: a device's effective remote config.
type ConfigPush struct {
	Version  uint64 `json:"version"`
	Document string `json:"document"`
}

// SendConfig queues a device's effective remote config durably, replacing one still
// queued, and sends it to its connections now if it has any. It reports whether it was
// sent now.
func (h *Hub) SendConfig(id string, cp ConfigPush) (bool, error) {
	body, err := json.Marshal(cp)
	if err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p, err := h.store.QueuePush(id, store.PushConfig, body, true, h.clock.Now())
	if err != nil {
		return false, fmt.Errorf("queue config for %s: %w", id, err)
	}
	for c := range h.devices[id] {
		h.sendPush(c, p)
	}
	return len(h.devices[id]) > 0, nil
}

// ImportAppointments writes an import into a clinic's appointments with the store's
// ImportAppointments (ids are the external IDs the import names; plan decides the
// writes from the appointments they already have). It holds h.mu throughout, so no
// arrive or cancel interleaves between plan reading an appointment's status and the
// write, then pushes the schedule once to every device whose appointments changed,
// including one an appointment moved away from: booths never see half an import.
func (h *Hub) ImportAppointments(clinicID string, ids []string, plan store.ImportPlan) ([]store.Appointment, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	oldDevice := map[string]string{} // external ID -> device before the import
	written, err := h.store.ImportAppointments(clinicID, ids, func(existing map[string]store.Appointment) ([]store.ImportWrite, error) {
		for ext, a := range existing {
			oldDevice[ext] = a.DeviceID
		}
		return plan(existing)
	})
	if err != nil {
		return written, err
	}
	touched := map[string]bool{}
	for _, a := range written {
		touched[a.DeviceID] = true
		if d := oldDevice[a.ExternalID]; d != "" {
			touched[d] = true
		}
	}
	for dev := range touched {
		h.pushSchedule(dev)
	}
	return written, nil
}

// RevokedMessage is what a revoked device is told before its connection closes.
const RevokedMessage = "this device has been revoked by IT"

// Revoke cuts a revoked device off at once: each call it is in ends with EndRevoked (the
// other party is told), it is sent an error with CodeRevoked, and its connections are
// closed once that is written (its patients then leave the waiting room as for a lost
// device). It waits, at most revokeWait, for the connections to be gone, and returns how
// many there were. The caller has already made the store refuse the device's credentials,
// so it cannot connect again meanwhile.
func (h *Hub) Revoke(deviceID string) int {
	h.mu.Lock()
	var cs []*client
	for c := range h.devices[deviceID] {
		for _, cl := range c.calls {
			if err := h.endCall(cl, c, signalling.EndRevoked, false); err != nil {
				c.log.Error("ending call of revoked device", "call", cl.id, "err", err)
			}
		}
		c.send(signalling.TypeError, &signalling.Error{Code: signalling.CodeRevoked, Message: RevokedMessage})
		c.closeAfterSent("device revoked")
		cs = append(cs, c)
	}
	h.mu.Unlock()
	if len(cs) > 0 {
		h.log.Info("revoked device cut off", "device", deviceID, "connections", len(cs))
	}
	t := time.NewTimer(revokeWait) // real time: it bounds network waits
	defer t.Stop()
	for _, c := range cs {
		select {
		case <-c.gone:
		case <-t.C:
			return len(cs)
		}
	}
	return len(cs)
}
