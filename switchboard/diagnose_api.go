package switchboard

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

// diagnoseWait bounds how long the API waits for a device's answer. A self-test opens
// the camera and microphone and reads from each (boothd gives each 5 s), and asks the
// switchboard for /api/v1/me; 30 s covers a slow Pi on poor Wi-Fi.
const diagnoseWait = 30 * time.Second

// defaultLogLines is how many log lines GET .../logs returns without ?lines.
const defaultLogLines = 200

// diagnose asks d for kind and writes the refusal when it cannot be had. Real time: it
// bounds a network wait.
func (s *Server) diagnose(w http.ResponseWriter, r *http.Request, d store.Device, kind signalling.DiagnoseKind, lines int) (*signalling.Diagnosis, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), diagnoseWait)
	defer cancel()
	m, err := s.hub.Diagnose(ctx, d.ID, kind, lines)
	switch {
	case errors.Is(err, hub.ErrNotConnected):
		writeError(w, http.StatusConflict, api.CodeDeviceOffline,
			"device %s is not connected; it can answer only while online (see its last_seen in GET /api/v1/devices/%s)", d.ID, d.ID)
	case errors.Is(err, hub.ErrBusy):
		writeError(w, http.StatusTooManyRequests, api.CodeRateLimited, "device %s is still answering an earlier request; try again when it has", d.ID)
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, api.CodeTimeout, "device %s did not answer within %v", d.ID, diagnoseWait)
	case err != nil && r.Context().Err() != nil:
		// The caller went away; nobody reads an answer.
	case err != nil:
		s.internalError(w, r, err)
	default:
		return m, true
	}
	return nil, false
}

// handleSelfTest runs a device's self-test now and returns each check: the switchboard
// reachable with its credentials, camera and microphone giving a frame and sound, the
// speaker and screen open, free disk and temperature.
func (s *Server) handleSelfTest(w http.ResponseWriter, r *http.Request, p *principal) {
	d, ok := s.deviceFor(w, r, p)
	if !ok {
		return
	}
	s.audit(r, p, audit.DeviceSelfTest, d.ID, d.ClinicID, "")
	m, ok := s.diagnose(w, r, d, signalling.DiagnoseSelfTest, 0)
	if !ok {
		return
	}
	out := api.SelfTest{Device: d.ID, Checks: m.Checks, Error: m.Error, Passed: m.Error == "" && len(m.Checks) > 0}
	if out.Checks == nil {
		out.Checks = []signalling.CheckResult{}
	}
	for _, c := range m.Checks {
		out.Passed = out.Passed && c.OK
	}
	writeJSON(w, http.StatusOK, out)
}

// handleDeviceLogs returns a device's most recent log lines (?lines, default
// defaultLogLines, at most signalling.MaxLogLines).
func (s *Server) handleDeviceLogs(w http.ResponseWriter, r *http.Request, p *principal) {
	lines, fe := intParam(r, "lines", defaultLogLines, 1, signalling.MaxLogLines)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	d, ok := s.deviceFor(w, r, p)
	if !ok {
		return
	}
	s.audit(r, p, audit.DeviceLogs, d.ID, d.ClinicID, strconv.Itoa(lines)+" lines")
	m, ok := s.diagnose(w, r, d, signalling.DiagnoseLogs, lines)
	if !ok {
		return
	}
	out := api.DeviceLogs{Device: d.ID, Lines: m.Logs}
	if out.Lines == nil {
		out.Lines = []signalling.LogLine{}
	}
	writeJSON(w, http.StatusOK, out)
}
