package switchboard

import (
	"errors"
	"net/http"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

// Sites: a device's site is its clinic. A clinician sees only their own clinic; an admin
// whose account names a clinic is that site's admin and sees and changes only it; an
// admin with no clinic is a fleet admin and sees every site.

// fleetAdmin reports whether p is an admin of every site.
func (p *principal) fleetAdmin() bool {
	return p.clinician != nil && p.clinician.Admin && p.clinician.ClinicID == ""
}

// seesSite reports whether p may see and change what belongs to clinic id.
func (p *principal) seesSite(id string) bool {
	return p.fleetAdmin() || p.clinicID() == id
}

// deviceFor loads the device named in the path if p may see it; otherwise it writes 404
// (the same for "does not exist" and "another site's", so IDs cannot be probed).
func (s *Server) deviceFor(w http.ResponseWriter, r *http.Request, p *principal) (store.Device, bool) {
	id := r.PathValue("id")
	d, err := s.store.Device(id)
	if err == nil && p.seesSite(d.ClinicID) {
		return d, true
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, r, err)
		return d, false
	}
	writeError(w, http.StatusNotFound, api.CodeNotFound, "no device %q; list them with GET /api/v1/devices", id)
	return d, false
}

// revokeRequest is the body as the API defines it; validate is the server's.
type revokeRequest struct{ api.RevokeDevice }

func (q *revokeRequest) validate() *fieldError {
	return checkText("reason", q.Reason, 0, store.MaxRevokeReason)
}

// handleRevokeDevice switches a device off for good: the store refuses its credentials
// from now on, its calls end and its connections close at once.
func (s *Server) handleRevokeDevice(w http.ResponseWriter, r *http.Request, p *principal) {
	var q revokeRequest
	if !decodeBody(w, r, &q) {
		return
	}
	d, ok := s.deviceFor(w, r, p)
	if !ok {
		return
	}
	d, err := s.store.RevokeDevice(d.ID, store.Revocation{At: s.clock.Now(), By: p.clinician.Username, Reason: q.Reason})
	switch {
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, api.CodeConflict, "device %s was revoked already, at %s by %s",
			d.ID, d.Revoked.At.Format("2006-01-02 15:04 MST"), d.Revoked.By)
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	// The store refuses the device first, so that it cannot connect again while its
	// connections close: the hub's after hello, then any still before it.
	n := s.hub.Revoke(d.ID)
	s.sockets.endDevice(d.ID, "device revoked")
	s.audit(r, p, audit.DeviceRevoke, d.ID, d.ClinicID, q.Reason)
	s.log.Info("device revoked", "device", d.ID, "site", d.ClinicID, "by", p.clinician.Username,
		"reason", q.Reason, "disconnected", n, "addr", clientIP(r))
	writeJSON(w, http.StatusOK, api.DeviceRevoked{Device: apiDevice(&d), Disconnected: n})
}

// withHealth adds a device's live health from the hub to its API view.
func withHealth(v api.Device, h hub.Health, ok bool) api.Device {
	if !ok {
		return v
	}
	v.Online = h.Online
	v.Health = &api.DeviceHealth{ReceivedAt: h.ReceivedAt, Heartbeat: h.Heartbeat}
	return v
}

// handleGetDevice shows one device with its health. A clinician sees only their own
// clinic's devices; another clinic's is not found, so IDs cannot be probed.
func (s *Server) handleGetDevice(w http.ResponseWriter, r *http.Request, p *principal) {
	d, ok := s.deviceFor(w, r, p)
	if !ok {
		return
	}
	h, ok := s.hub.DeviceHealth(d.ID)
	writeJSON(w, http.StatusOK, api.DeviceDetail{Device: withHealth(apiDevice(&d), h, ok)})
}
