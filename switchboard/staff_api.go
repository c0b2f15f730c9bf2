package switchboard

import (
	"errors"
	"net/http"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/hub"
)

// The staff station (docs/staff-station.md): the page at /staff opens the clinician's
// signalling connection with hello.staff set and is pushed its site's devices; staff say
// "I'm coming" to a help request here.

// handleStaffDevices shows the staff view of the clinician's site; a fleet admin's of
// every site, or of the one clinic_id names.
func (s *Server) handleStaffDevices(w http.ResponseWriter, r *http.Request, p *principal) {
	clinic := p.clinician.ClinicID
	if p.fleetAdmin() {
		clinic = r.URL.Query().Get("clinic_id")
	}
	v, err := s.hub.Devices(clinic)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// handleAcknowledgeHelp records that the clinician is coming to a booth's standing help
// request; the booth, and every staff station of the site, are told who. 404 for another
// site's device (as for one that does not exist), 409 when no request stands. The
// request has no body.
func (s *Server) handleAcknowledgeHelp(w http.ResponseWriter, r *http.Request, p *principal) {
	d, ok := s.deviceFor(w, r, p)
	if !ok {
		return
	}
	st, first, err := s.hub.AcknowledgeHelp(d.ID, p.clinician)
	switch {
	case errors.Is(err, hub.ErrNoHelp):
		writeError(w, http.StatusConflict, api.CodeConflict, "device %s has no help request standing: nobody pressed Help, or it is over", d.ID)
		return
	case errors.Is(err, hub.ErrNotFound):
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no device %q; list them with GET /api/v1/devices", d.ID)
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	if first { // again is no news: whoever said first is coming
		s.audit(r, p, audit.HelpAcknowledge, d.ID, d.ClinicID, "acknowledged by "+st.AcknowledgedBy)
	}
	writeJSON(w, http.StatusOK, api.HelpAcknowledged{Device: d.ID, Help: st})
}
