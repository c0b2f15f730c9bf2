package switchboard

import (
	"errors"
	"net/http"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

func (s *Server) handleNoShow(w http.ResponseWriter, r *http.Request, p *principal) {
	s.outcome(w, r, p, signalling.OutcomeNoShow)
}

func (s *Server) handleTelephone(w http.ResponseWriter, r *http.Request, p *principal) {
	s.outcome(w, r, p, signalling.OutcomeTelephone)
}

// outcome records a no-show or a move to the telephone. The request has no body.
func (s *Server) outcome(w http.ResponseWriter, r *http.Request, p *principal, outcome string) {
	a, ok := s.appointmentFor(w, r, p)
	if !ok {
		return
	}
	a, err := s.hub.recordOutcome(p, a.ID, outcome)
	var ie *appointment.IllegalError
	switch {
	case errors.As(err, &ie):
		what := "a no-show"
		if outcome == signalling.OutcomeTelephone {
			what = "moved to the telephone"
		}
		writeError(w, http.StatusConflict, codeConflict, "appointment %s is %s and cannot be marked %s", r.PathValue("id"), ie.From, what)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errNotYours):
		writeError(w, http.StatusNotFound, codeNotFound, "no appointment %q", r.PathValue("id"))
	case err != nil:
		s.internalError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, a)
	}
}

func (s *Server) handleAppointmentEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	a, ok := s.appointmentFor(w, r, p)
	if !ok {
		return
	}
	h, err := s.store.History(a.ID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"appointment_id": a.ID, "status": a.Status, "events": h})
}

type deviceSettingsRequest struct {
	JoinMode string `json:"join_mode"`
}

func (q *deviceSettingsRequest) validate() *fieldError {
	if q.JoinMode != store.JoinAuto && q.JoinMode != store.JoinButton {
		return badField("join_mode", "must be %q (join at the start time) or %q (join when Join is pressed)", store.JoinAuto, store.JoinButton)
	}
	return nil
}

// handleDeviceSettings changes a device's settings and pushes them to it, now if it is
// connected, else when it next connects (the push queue is durable).
func (s *Server) handleDeviceSettings(w http.ResponseWriter, r *http.Request, _ *principal) {
	var q deviceSettingsRequest
	if !decodeBody(w, r, &q) {
		return
	}
	id := r.PathValue("id")
	d, delivered, err := s.hub.setDeviceSettings(id, store.DeviceSettings{JoinMode: q.JoinMode})
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNotFound, "no device %q; list them with GET /api/v1/devices", id)
	case err != nil:
		s.internalError(w, r, err)
	default:
		s.log.Info("device settings changed", "device", id, "join_mode", q.JoinMode, "sent_now", delivered)
		writeJSON(w, http.StatusOK, map[string]any{"device": viewDevice(&d), "join_mode": d.JoinMode, "sent_now": delivered})
	}
}
