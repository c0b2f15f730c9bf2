package hub

import (
	"errors"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

// quality keeps a booth's measure of a call it had for one of its appointments, for the
// commissioners' report, and acknowledges it (the booth keeps its figures until then, across
// an outage). Figures sent again are acknowledged and the first kept. Must hold h.mu.
func (h *Hub) quality(c *client, seq uint64, m *signalling.Quality) error {
	a, err := h.store.Appointment(m.AppointmentID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(signalling.CodeUnknownAppointment, seq, "no appointment %s", m.AppointmentID)
	}
	if err != nil {
		return err
	}
	if a.DeviceID != c.id {
		return refuse(signalling.CodeForbidden, seq, "appointment %s is not this device's", m.AppointmentID)
	}
	if a.Quality.Has(m.CallID) {
		// Kept already: the booth sent them again because the acknowledgement was lost with
		// its link. It hears they are kept, and the first figures stand.
		c.send(signalling.TypeQualityAck, &signalling.QualityAck{CallID: m.CallID})
		return nil
	}
	lasted, err := h.callLasted(a.ID, m.CallID)
	if err != nil {
		return err
	}
	if lasted < 0 {
		return refuse(signalling.CodeNotInCall, seq, "appointment %s had no call %s", a.ID, m.CallID)
	}
	if limit := lasted + qualitySlack; time.Duration(m.Seconds*float64(time.Second)) > limit {
		return refuse(signalling.CodeBadMessage, seq, "seconds %.0f is longer than call %s lasted (%.0f s)", m.Seconds, m.CallID, lasted.Seconds())
	}
	_, err = h.store.UpdateAppointment(a.ID, func(a *store.Appointment) error {
		if a.Quality.Has(m.CallID) {
			return nil
		}
		a.Quality = a.Quality.With(m.CallID, m.BitrateKbps, m.PacketLossPct, m.RTTMs, m.Seconds)
		return nil
	})
	if err != nil {
		return err
	}
	c.log.Info("call quality", "appointment", a.ID, "call", m.CallID, "bitrate_kbps", m.BitrateKbps, "packet_loss_pct", m.PacketLossPct)
	c.send(signalling.TypeQualityAck, &signalling.QualityAck{CallID: m.CallID})
	return nil
}

// qualitySlack is how much longer than the switchboard saw a call last a booth may say
// its media flowed (the two clocks start the call a round trip apart).
const qualitySlack = 10 * time.Second

// callLasted returns how long call id of appointment apptID has lasted by the
// switchboard's records: from its admit to the event that ended it, or to now while it is
// live. It is negative when the appointment's history has no such call. Must hold h.mu.
func (h *Hub) callLasted(apptID, id string) (time.Duration, error) {
	recs, err := h.store.History(apptID)
	if err != nil {
		return 0, err
	}
	for i, r := range recs {
		if r.Event != appointment.Admit || r.CallID != id || r.Refused != "" {
			continue
		}
		admitted := r.Received
		for _, after := range recs[i+1:] {
			if after.Refused == "" && after.From == appointment.InCall && after.To != appointment.InCall {
				return after.Received.Sub(admitted), nil
			}
		}
		return h.clock.Since(admitted), nil
	}
	return -1, nil
}
