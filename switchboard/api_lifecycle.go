package switchboard

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/hub"
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
	a, err := s.hub.RecordOutcome(p.identity(), a.ID, outcome)
	var ie *appointment.IllegalError
	switch {
	case errors.As(err, &ie):
		what := "a no-show"
		if outcome == signalling.OutcomeTelephone {
			what = "moved to the telephone"
		}
		writeError(w, http.StatusConflict, api.CodeConflict, "appointment %s is %s and cannot be marked %s", r.PathValue("id"), ie.From, what)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, hub.ErrNotYours):
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no appointment %q", r.PathValue("id"))
	case err != nil:
		s.internalError(w, r, err)
	default:
		action := audit.AppointmentNoShow
		if outcome == signalling.OutcomeTelephone {
			action = audit.AppointmentPhone
		}
		s.audit(r, p, action, a.ID, a.ClinicID, "")
		writeJSON(w, http.StatusOK, apiAppointment(&a))
	}
}

// Pages of an appointment's history: limit records from offset.
const (
	defaultEventsPage = 100
	maxEventsPage     = 500
)

func (s *Server) handleAppointmentEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	offset, fe := intParam(r, "offset", 0, 0, math.MaxInt32)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	limit, fe := intParam(r, "limit", defaultEventsPage, 1, maxEventsPage)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	a, ok := s.appointmentFor(w, r, p)
	if !ok {
		return
	}
	h, total, err := s.store.HistoryPage(a.ID, offset, limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := api.History{AppointmentID: a.ID, Status: a.Status, Events: h, Total: total}
	if next := offset + len(h); next < total {
		out.NextOffset = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// intParam reads an optional integer query parameter in [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, *fieldError) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badField(name, "%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n, nil
}

// deviceSettingsRequest is the body as the API defines it; validate is the server's.
type deviceSettingsRequest struct{ api.DeviceSettings }

func (q *deviceSettingsRequest) validate() *fieldError {
	if !q.JoinMode.Valid() {
		return badField("join_mode", "must be %q (join at the start time) or %q (join when Join is pressed)", device.JoinAuto, device.JoinButton)
	}
	return nil
}

// handleDeviceSettings changes a device's settings and pushes them to it, now if it is
// connected, else when it next connects (the push queue is durable).
func (s *Server) handleDeviceSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	var q deviceSettingsRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if _, ok := s.deviceFor(w, r, p); !ok {
		return
	}
	id := r.PathValue("id")
	d, delivered, err := s.hub.SetDeviceSettings(id, store.DeviceSettings{JoinMode: q.JoinMode})
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no device %q; list them with GET /api/v1/devices", id)
	case err != nil:
		s.internalError(w, r, err)
	default:
		s.log.Info("device settings changed", "device", id, "join_mode", q.JoinMode, "sent_now", delivered)
		s.audit(r, p, audit.DeviceSettings, id, d.ClinicID, "join_mode "+string(q.JoinMode))
		writeJSON(w, http.StatusOK, api.DeviceSettingsChanged{Device: apiDevice(&d), JoinMode: d.JoinMode, SentNow: delivered})
	}
}
