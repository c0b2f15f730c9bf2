package switchboard

import (
	"errors"
	"net/http"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

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
	id := r.PathValue("id")
	d, err := s.store.Device(id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !p.clinician.Admin && d.ClinicID != p.clinician.ClinicID {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no device %q; list them with GET /api/v1/devices", id)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	h, ok := s.hub.DeviceHealth(d.ID)
	writeJSON(w, http.StatusOK, api.DeviceDetail{Device: withHealth(apiDevice(&d), h, ok)})
}
