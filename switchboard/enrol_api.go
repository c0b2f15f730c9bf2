package switchboard

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"sort"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/enrolment"
	"github.com/carebooth/carebooth/switchboard/store"
)

// Enrolment: a device posts a request signed with its key and shows the activation code
// it gets back; an admin approves the code; the device's next poll receives its
// certificate (packages provisioning/enrol and switchboard/enrolment).

// enrolPollAfter is how often a waiting device should poll.
const enrolPollAfter = 5 * time.Second

// maxEnrolBody bounds a signed enrolment request.
const maxEnrolBody = 4 << 10

// keyIndex is what a key-enrolled device's TokenHash holds: no bearer token's hash (hex
// only) can equal it.
func keyIndex(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "key:" + hex.EncodeToString(sum[:])
}

// signedBy verifies a signed enrolment request and returns its key and body, or writes
// the refusal.
func (s *Server) signedBy(w http.ResponseWriter, r *http.Request) (ed25519.PublicKey, []byte, bool) {
	if s.ca == nil {
		writeError(w, http.StatusServiceUnavailable, api.CodeInternal, "this switchboard enrols no devices: it was started without a device CA")
		return nil, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEnrolBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "enrolment request larger than %d bytes", maxEnrolBody)
		return nil, nil, false
	}
	pub, err := enrol.Verify(r.Header.Get("Authorization"), r.Method, r.URL.RequestURI(), body, s.clock.Now())
	if err != nil {
		writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, "%v", err)
		return nil, nil, false
	}
	return pub, body, true
}

// handleEnrol gives a signed request its activation code, or its credentials once
// approved.
func (s *Server) handleEnrol(w http.ResponseWriter, r *http.Request, _ *principal) {
	pub, body, ok := s.signedBy(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var q enrolRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if st, done := s.enrolled(w, r, pub); done {
		if st != nil {
			writeJSON(w, http.StatusOK, st)
		}
		return
	}
	src, _ := netip.ParseAddr(clientIP(r))
	p, err := s.enrolments.Request(pub, q.Request, src)
	if errors.Is(err, enrolment.ErrTooMany) {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, api.CodeRateLimited, "%v", err)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "%v", err)
		return
	}
	s.log.Info("device asks to enrol", "name", p.Name, "key", identity.Fingerprint(pub), "addr", src)
	writeJSON(w, http.StatusOK, s.pendingStatus(p))
}

// handleEnrolStatus answers a waiting device's signed poll.
func (s *Server) handleEnrolStatus(w http.ResponseWriter, r *http.Request, _ *principal) {
	pub, _, ok := s.signedBy(w, r)
	if !ok {
		return
	}
	if st, done := s.enrolled(w, r, pub); done {
		if st != nil {
			writeJSON(w, http.StatusOK, st)
		}
		return
	}
	if p, ok := s.enrolments.Lookup(pub); ok {
		writeJSON(w, http.StatusOK, s.pendingStatus(p))
		return
	}
	writeJSON(w, http.StatusOK, enrol.Status{State: enrol.Expired, CAFingerprint: s.ca.Fingerprint()})
}

// enrolled is the approved status of the device with key pub, if there is one (nil and
// true when it wrote an error instead).
func (s *Server) enrolled(w http.ResponseWriter, r *http.Request, pub ed25519.PublicKey) (*enrol.Status, bool) {
	d, err := s.store.DeviceByTokenHash(keyIndex(pub))
	if errors.Is(err, store.ErrNotFound) {
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, err)
		return nil, true
	}
	if d.Revoked != nil {
		// Its key stays indexed: it gets neither its credentials again nor a new code
		// for an admin to approve without seeing that this key was switched off.
		s.log.Info("revoked device asks to enrol", "device", d.ID, "key", identity.Fingerprint(pub), "addr", clientIP(r))
		writeRevoked(w)
		return nil, true
	}
	der, err := s.ca.IssueDevice(d.ID, pub)
	if err != nil {
		s.internalError(w, r, err)
		return nil, true
	}
	return &enrol.Status{State: enrol.Approved, CAFingerprint: s.ca.Fingerprint(), DeviceID: d.ID,
		Site: d.ClinicID, Room: d.Room, Role: d.Role, Chain: [][]byte{der}, CA: s.ca.Certificate().Raw}, true
}

func (s *Server) pendingStatus(p enrolment.Pending) enrol.Status {
	return enrol.Status{State: enrol.Pending, Code: p.Code.String(), Expires: p.Expires,
		CAFingerprint: s.ca.Fingerprint(), PollAfter: enrolPollAfter}
}

// enrolRequest is the body as package enrol defines it; validate is the server's.
type enrolRequest struct{ enrol.Request }

func (q *enrolRequest) validate() *fieldError {
	if err := checkText("name", q.Name, 1, enrol.MaxNameLen); err != nil {
		return err
	}
	return checkText("version", q.Version, 1, enrol.MaxNameLen)
}

// handleListEnrolments lists the devices waiting for approval, for admins.
func (s *Server) handleListEnrolments(w http.ResponseWriter, r *http.Request, _ *principal) {
	ps := s.enrolments.List()
	sort.Slice(ps, func(i, j int) bool { return ps[i].Requested.Before(ps[j].Requested) })
	out := api.Enrolments{Enrolments: make([]api.Enrolment, 0, len(ps))}
	for _, p := range ps {
		out.Enrolments = append(out.Enrolments, api.Enrolment{Code: p.Code.String(), Name: p.Name, Version: p.Version,
			Source: p.Source.String(), KeyFingerprint: identity.Fingerprint(p.Key), Requested: p.Requested, Expires: p.Expires})
	}
	writeJSON(w, http.StatusOK, out)
}

// approvalRequest is the body as package enrol defines it; validate is the server's.
type approvalRequest struct{ enrol.Approval }

func (q *approvalRequest) validate() *fieldError {
	if _, err := enrol.ParseCode(q.Code); err != nil {
		return badField("code", "%v", err)
	}
	if q.Role == "" {
		q.Role = device.RoleBooth
	}
	if !q.Role.Valid() {
		return badField("role", "must be %q or %q", device.RoleBooth, device.RoleClinic)
	}
	if fe := checkText("site", q.Site, 1, enrol.MaxNameLen); fe != nil {
		return fe
	}
	return checkText("room", q.Room, 1, enrol.MaxNameLen)
}

// handleApproveEnrolment approves an activation code: the device is created in the site
// (clinic) and room given, and its next poll receives its certificate.
func (s *Server) handleApproveEnrolment(w http.ResponseWriter, r *http.Request, p *principal) {
	if s.ca == nil {
		writeError(w, http.StatusServiceUnavailable, api.CodeInternal, "this switchboard enrols no devices: it was started without a device CA")
		return
	}
	var q approvalRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if !p.seesSite(q.Site) {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "site: you may approve devices only into your own site, %s", p.clinician.ClinicID)
		return
	}
	if !s.clinicExists(w, r, "site", q.Site, false) {
		return
	}
	src, _ := netip.ParseAddr(clientIP(r))
	var d store.Device
	err := s.enrolments.Approve(q.Code, src, func(pe enrolment.Pending) error {
		d = store.Device{Name: pe.Name, ClinicID: q.Site, Room: q.Room, Role: q.Role, PublicKey: pe.Key,
			TokenHash: keyIndex(pe.Key), CreatedAt: s.clock.Now()}
		return s.store.CreateDevice(&d)
	})
	switch {
	case errors.Is(err, enrolment.ErrGuessing):
		w.Header().Set("Retry-After", "900")
		writeError(w, http.StatusTooManyRequests, api.CodeRateLimited, "%v", err)
	case errors.Is(err, enrol.ErrNotPending):
		writeError(w, http.StatusNotFound, api.CodeNotFound, "%v: check the code on the device's screen; it expires after a day", err)
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, api.CodeConflict, "this device's key is enrolled already")
	case err != nil:
		s.internalError(w, r, err)
	default:
		s.audit(r, p, audit.EnrolmentApprove, d.ID, d.ClinicID, "room "+d.Room+", role "+string(d.Role)+", key "+identity.Fingerprint(d.PublicKey))
		s.log.Info("device enrolled", "device", d.ID, "site", d.ClinicID, "room", d.Room, "role", d.Role,
			"key", identity.Fingerprint(d.PublicKey), "by", p.clinician.Username, "addr", src)
		s.queueEffectiveConfig(&d)
		writeJSON(w, http.StatusCreated, apiDevice(&d))
	}
}
