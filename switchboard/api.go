package switchboard

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

// apiClinician is a clinician as the API shows it: never the password hash.
func apiClinician(c *store.Clinician) *api.Clinician {
	return &api.Clinician{ID: c.ID, Username: c.Username, Name: c.Name, ClinicID: c.ClinicID, Admin: c.Admin}
}

// apiDevice is a device as the API shows it: never the token hash.
func apiDevice(d *store.Device) api.Device {
	v := api.Device{ID: d.ID, Name: d.Name, ClinicID: d.ClinicID, Role: d.Role, CreatedAt: d.CreatedAt, JoinMode: d.JoinMode, Room: d.Room,
		ConfigVersion: d.ConfigVersion, ConfigError: d.ConfigError}
	if len(d.PublicKey) == ed25519.PublicKeySize {
		v.KeyFingerprint = identity.Fingerprint(d.PublicKey)
	}
	if !d.LastSeen.IsZero() {
		ls := d.LastSeen
		v.LastSeen = &ls
	}
	if rv := d.Revoked; rv != nil {
		v.Revoked = &api.Revocation{At: rv.At, By: rv.By, Reason: rv.Reason}
	}
	return v
}

// viewAll is the API's view of each stored value, never nil (an empty list is [] on the
// wire).
func viewAll[S, V any](xs []S, view func(*S) V) []V {
	out := make([]V, 0, len(xs))
	for i := range xs {
		out = append(out, view(&xs[i]))
	}
	return out
}

// apiAppointment is an appointment as the API shows it.
func apiAppointment(a *store.Appointment) api.Appointment {
	v := api.Appointment{
		ID: a.ID, ClinicID: a.ClinicID, DeviceID: a.DeviceID, Patient: a.Patient, Start: a.Start, End: a.End,
		Status: a.Status, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, ExternalID: a.ExternalID, Service: a.Service,
		BoothEvents: a.BoothEvents, RefusedEvents: a.RefusedEvents,
	}
	if q := a.Quality; q != nil {
		v.Quality = &api.CallQuality{Calls: q.Calls, BitrateKbps: q.BitrateKbps, PacketLossPct: q.PacketLossPct,
			RTTMs: q.RTTMs, Seconds: q.Seconds, CallIDs: q.CallIDs}
	}
	return v
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, api.CodeInternal, "internal error; the switchboard's log has details")
}

// --- login ---

// loginRequest is the body as the API defines it; validate is the server's.
type loginRequest struct{ api.LoginRequest }

func (q *loginRequest) validate() *fieldError {
	if q.Username == "" {
		return badField("username", "is required")
	}
	if q.Password == "" {
		return badField("password", "is required")
	}
	return nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, _ *principal) {
	var q loginRequest
	if !decodeBody(w, r, &q) {
		return
	}
	ip := clientIP(r)
	// Reserved before the password is checked: parallel guesses count at once.
	att, wait := s.limiter.reserve(ip, q.Username)
	if att == nil {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.log.Info("login rate limited", "username", q.Username, "addr", ip, "retry_after", secs)
		writeError(w, http.StatusTooManyRequests, api.CodeRateLimited, "too many failed logins; try again in %s", waitText(secs))
		return
	}
	c, err := s.store.ClinicianByUsername(q.Username)
	hash := c.PasswordHash
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.limiter.cancelled(att)
			s.internalError(w, r, err)
			return
		}
		hash = s.dummyHash // spend the same time as for a wrong password
	}
	if s.verifyPassword(hash, []byte(q.Password)) != nil || err != nil {
		s.log.Info("login refused", "username", q.Username, "addr", ip)
		s.auditFailedLogin(r, q.Username)
		writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, "username or password is wrong")
		return
	}
	s.limiter.succeeded(att)
	now := s.clock.Now()
	s.store.DeleteExpiredSessions(now) //nolint:errcheck // housekeeping, retried at next login
	s.pruneAudit()
	tok := newToken(sessionTokenPrefix)
	sess := store.Session{TokenHash: hashToken(tok), ClinicianID: c.ID, Expires: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateSession(sess); err != nil {
		s.internalError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", Expires: sess.Expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.overTLS(r),
	})
	s.log.Info("login", "username", c.Username, "addr", ip)
	s.audit(r, &principal{clinician: &c}, audit.Login, c.ID, c.ClinicID, "")
	writeJSON(w, http.StatusOK, api.Login{Token: tok, Expires: sess.Expires, Clinician: *apiClinician(&c)})
}

// waitText says secs as a person would.
func waitText(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 120:
		return strconv.Itoa(secs) + " seconds"
	}
	return strconv.Itoa((secs+59)/60) + " minutes"
}

// handleLogout ends the session and closes its signalling connections, so a browser left
// open stops receiving the waiting room at once.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.store.DeleteSession(p.sessionHash); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.sockets.endSession(p.sessionHash, "logged out")
	s.audit(r, p, audit.Logout, p.clinician.ID, p.clinician.ClinicID, "")
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.overTLS(r),
	})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.device != nil {
		d := apiDevice(p.device)
		writeJSON(w, http.StatusOK, api.Me{Device: &d})
		return
	}
	writeJSON(w, http.StatusOK, api.Me{Clinician: apiClinician(p.clinician)})
}

// --- clinics ---

// clinicRequest is the body as the API defines it; validate is the server's.
type clinicRequest struct{ api.NewClinic }

func (q *clinicRequest) validate() *fieldError {
	if fe := checkText("name", q.Name, 1, 100); fe != nil {
		return fe
	}
	return checkText("phone", q.Phone, 0, 40)
}

func (s *Server) handleListClinics(w http.ResponseWriter, r *http.Request, p *principal) {
	all, err := s.store.Clinics()
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := api.Clinics{Clinics: []api.Clinic{}}
	for _, c := range all {
		if p.seesSite(c.ID) {
			out.Clinics = append(out.Clinics, api.Clinic{ID: c.ID, Name: c.Name, Phone: c.Phone})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateClinic(w http.ResponseWriter, r *http.Request, p *principal) {
	var q clinicRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if !p.fleetAdmin() {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "only a fleet admin (an admin account with no clinic) may add clinics; you are the admin of clinic %s", p.clinician.ClinicID)
		return
	}
	c := store.Clinic{Name: q.Name, Phone: q.Phone}
	if err := s.store.CreateClinic(&c); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.audit(r, p, audit.ClinicCreate, c.ID, c.ID, c.Name)
	writeJSON(w, http.StatusCreated, api.Clinic{ID: c.ID, Name: c.Name, Phone: c.Phone})
}

// --- clinicians ---

// clinicianRequest is the body as the API defines it; validate is the server's.
type clinicianRequest struct{ api.NewClinician }

func (q *clinicianRequest) validate() *fieldError {
	if fe := checkUsername(q.Username); fe != nil {
		return fe
	}
	if fe := checkPassword(q.Password); fe != nil {
		return fe
	}
	if fe := checkText("name", q.Name, 1, 100); fe != nil {
		return fe
	}
	if q.ClinicID == "" && !q.Admin {
		return badField("clinic_id", "is required (only admins may have no clinic)")
	}
	return nil
}

func checkUsername(u string) *fieldError {
	if u == "" || len(u) > 64 {
		return badField("username", "must be 1 to 64 characters")
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return badField("username", "may contain only lower-case letters, digits, '.', '-' and '_'")
		}
	}
	return nil
}

func checkPassword(p string) *fieldError {
	if len(p) < 10 {
		return badField("password", "must be at least 10 characters")
	}
	if len(p) > 72 {
		return badField("password", "must be at most 72 bytes (the bcrypt limit)")
	}
	return nil
}

// HashPassword hashes a clinician password for the store with the given bcrypt cost
// (0 means bcrypt.DefaultCost). It refuses passwords the API would refuse.
func HashPassword(password string, cost int) ([]byte, error) {
	if fe := checkPassword(password); fe != nil {
		return nil, fe
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	return bcrypt.GenerateFromPassword([]byte(password), cost)
}

func (s *Server) handleCreateClinician(w http.ResponseWriter, r *http.Request, p *principal) {
	var q clinicianRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if !p.fleetAdmin() {
		// A site admin adds people to their own site only, and never a fleet admin.
		if q.ClinicID == "" {
			q.ClinicID = p.clinician.ClinicID
		}
		if q.ClinicID != p.clinician.ClinicID {
			writeError(w, http.StatusForbidden, api.CodeForbidden, "clinic_id: you may add clinicians only to your own clinic, %s", p.clinician.ClinicID)
			return
		}
	}
	if !s.clinicExists(w, r, "clinic_id", q.ClinicID, q.Admin) {
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(q.Password), s.cfg.BcryptCost)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	c := store.Clinician{Username: q.Username, Name: q.Name, ClinicID: q.ClinicID, Admin: q.Admin, PasswordHash: hash}
	if err := s.store.CreateClinician(&c); err != nil {
		if errors.Is(err, store.ErrConflict) {
			writeJSON(w, http.StatusConflict, api.ErrorBody{Error: api.Error{Code: api.CodeConflict, Message: "username: " + q.Username + " is taken", Field: "username"}})
			return
		}
		s.internalError(w, r, err)
		return
	}
	detail := "username " + c.Username
	if c.Admin {
		detail += ", admin"
	}
	s.audit(r, p, audit.ClinicianCreate, c.ID, c.ClinicID, detail)
	writeJSON(w, http.StatusCreated, apiClinician(&c))
}

// clinicExists checks a clinic reference in a request body, writing a 400 naming field
// when it does not resolve.
func (s *Server) clinicExists(w http.ResponseWriter, r *http.Request, field, id string, optional bool) bool {
	if id == "" && optional {
		return true
	}
	if _, err := s.store.Clinic(id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeFieldError(w, badField(field, "no clinic has ID %q; list them with GET /api/v1/clinics", id))
			return false
		}
		s.internalError(w, r, err)
		return false
	}
	return true
}

// --- devices ---

// deviceRequest is the body as the API defines it; validate is the server's.
type deviceRequest struct{ api.NewDevice }

func (q *deviceRequest) validate() *fieldError {
	if fe := checkText("name", q.Name, 1, 100); fe != nil {
		return fe
	}
	if q.ClinicID == "" {
		return badField("clinic_id", "is required")
	}
	if q.Role == "" {
		q.Role = device.RoleBooth
	}
	if !q.Role.Valid() {
		return badField("role", "must be %q or %q", device.RoleBooth, device.RoleClinic)
	}
	return nil
}

func (s *Server) handleListDevices(w http.ResponseWriter, r *http.Request, p *principal) {
	clinic := p.clinician.ClinicID
	if p.fleetAdmin() {
		clinic = r.URL.Query().Get("clinic_id") // "" lists every clinic's
	}
	ds, err := s.store.Devices(clinic)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	fleet := s.hub.Fleet()
	writeJSON(w, http.StatusOK, api.Devices{Devices: viewAll(ds, func(d *store.Device) api.Device {
		h, ok := fleet[d.ID]
		return withHealth(apiDevice(d), h, ok)
	})})
}

func (s *Server) handleCreateDevice(w http.ResponseWriter, r *http.Request, p *principal) {
	if !s.deviceTokens() {
		writeError(w, http.StatusForbidden, api.CodeForbidden,
			"this switchboard authenticates devices by their keys, not tokens: start boothd with no switchboard.token_file and approve its activation code (boothctl devices approve CODE), or run the switchboard with -device-tokens")
		return
	}
	var q deviceRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if !p.seesSite(q.ClinicID) {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "clinic_id: you may add devices only to your own clinic, %s", p.clinician.ClinicID)
		return
	}
	if !s.clinicExists(w, r, "clinic_id", q.ClinicID, false) {
		return
	}
	tok := newToken(deviceTokenPrefix)
	d := store.Device{Name: q.Name, ClinicID: q.ClinicID, Role: q.Role, TokenHash: hashToken(tok), CreatedAt: s.clock.Now()}
	if err := s.store.CreateDevice(&d); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.log.Info("device created", "device", d.ID, "clinic", d.ClinicID)
	s.audit(r, p, audit.DeviceCreate, d.ID, d.ClinicID, "name "+d.Name+", role "+string(d.Role))
	s.queueEffectiveConfig(&d)
	writeJSON(w, http.StatusCreated, api.DeviceCreated{Device: apiDevice(&d), Token: tok})
}

// --- appointments ---

// appointmentRequest is the body as the API defines it; validate is the server's.
type appointmentRequest struct{ api.NewAppointment }

func (q *appointmentRequest) validate() *fieldError {
	if q.DeviceID == "" {
		return badField("device_id", "is required")
	}
	if fe := checkText("patient", q.Patient, 1, 100); fe != nil {
		return fe
	}
	if q.Start.IsZero() {
		return badField("start", "is required (RFC 3339, e.g. 2026-11-21T09:30:00Z)")
	}
	if q.End.IsZero() {
		return badField("end", "is required (RFC 3339, e.g. 2026-11-21T09:50:00Z)")
	}
	if !q.End.After(q.Start) {
		return badField("end", "must be after start")
	}
	if q.End.Sub(q.Start) > store.MaxAppointmentLength {
		return badField("end", "must be at most %s after start", store.MaxAppointmentLength)
	}
	return nil
}

// visible reports whether p may see appointment a.
func visible(p *principal, a *store.Appointment) bool {
	return p.identity().Sees(a)
}

func (s *Server) handleListAppointments(w http.ResponseWriter, r *http.Request, p *principal) {
	now := s.clock.Now()
	qs := r.URL.Query()
	from, to, fe := timeRange(qs, now.Add(-time.Hour), now.Add(48*time.Hour), 400*24*time.Hour, "the range")
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	var (
		as  []store.Appointment
		err error
	)
	if p.device != nil {
		as, err = s.store.AppointmentsByDevice(p.device.ID, from, to)
	} else {
		clinic := p.clinician.ClinicID
		if c := qs.Get("clinic_id"); c != "" && p.fleetAdmin() {
			clinic = c
		}
		if clinic == "" {
			writeFieldError(w, badField("clinic_id", "is required: this admin account belongs to no clinic"))
			return
		}
		as, err = s.store.AppointmentsByClinic(clinic, from, to)
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Appointments{Appointments: viewAll(as, apiAppointment)})
}

func (s *Server) handleCreateAppointment(w http.ResponseWriter, r *http.Request, p *principal) {
	var q appointmentRequest
	if !decodeBody(w, r, &q) {
		return
	}
	if q.ClinicID == "" {
		q.ClinicID = p.clinician.ClinicID
	}
	if q.ClinicID == "" {
		writeFieldError(w, badField("clinic_id", "is required"))
		return
	}
	if !p.seesSite(q.ClinicID) {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "clinic_id: you may book only for your own clinic")
		return
	}
	if !s.clinicExists(w, r, "clinic_id", q.ClinicID, false) {
		return
	}
	d, err := s.store.Device(q.DeviceID)
	if err != nil || d.ClinicID != q.ClinicID {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			writeFieldError(w, badField("device_id", "clinic %s has no device %q; list them with GET /api/v1/devices", q.ClinicID, q.DeviceID))
			return
		}
		s.internalError(w, r, err)
		return
	}
	now := s.clock.Now()
	a := store.Appointment{
		ClinicID: q.ClinicID, DeviceID: q.DeviceID, Patient: q.Patient,
		Start: q.Start.UTC(), End: q.End.UTC(), Status: appointment.Scheduled, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateAppointment(&a); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.hub.AppointmentsChanged(a.DeviceID)
	s.audit(r, p, audit.AppointmentCreate, a.ID, a.ClinicID, "device "+a.DeviceID)
	writeJSON(w, http.StatusCreated, apiAppointment(&a))
}

// appointmentFor loads the appointment named in the path if p may see it; otherwise it
// writes 404 (the same for "does not exist" and "not yours", so IDs cannot be probed).
func (s *Server) appointmentFor(w http.ResponseWriter, r *http.Request, p *principal) (store.Appointment, bool) {
	id := r.PathValue("id")
	a, err := s.store.Appointment(id)
	if err == nil && visible(p, &a) {
		return a, true
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, r, err)
		return a, false
	}
	writeError(w, http.StatusNotFound, api.CodeNotFound, "no appointment %q", id)
	return a, false
}

func (s *Server) handleGetAppointment(w http.ResponseWriter, r *http.Request, p *principal) {
	if a, ok := s.appointmentFor(w, r, p); ok {
		writeJSON(w, http.StatusOK, apiAppointment(&a))
	}
}

func (s *Server) handleCancelAppointment(w http.ResponseWriter, r *http.Request, p *principal) {
	a, ok := s.appointmentFor(w, r, p)
	if !ok {
		return
	}
	a, err := s.hub.CancelAppointment(a.ID, p.identity().ClinicianActor())
	switch {
	case errors.Is(err, hub.ErrInCall):
		writeError(w, http.StatusConflict, api.CodeConflict, "appointment %s is in a call; end the call first", a.ID)
	case errors.Is(err, hub.ErrEnded):
		writeError(w, http.StatusConflict, api.CodeConflict, "appointment %s is %s; it can no longer be cancelled", a.ID, a.Status)
	case err != nil:
		s.internalError(w, r, err)
	default:
		s.audit(r, p, audit.AppointmentCancel, a.ID, a.ClinicID, "")
		writeJSON(w, http.StatusOK, apiAppointment(&a))
	}
}

func (s *Server) handleWaitingRoom(w http.ResponseWriter, r *http.Request, p *principal) {
	clinic := p.clinician.ClinicID
	if c := r.URL.Query().Get("clinic_id"); c != "" && p.fleetAdmin() {
		clinic = c
	}
	writeJSON(w, http.StatusOK, s.hub.Queue(clinic))
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ *principal) {
	promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// checkText validates a free-text field: length in characters and no control characters.
func checkText(field, v string, minLen, maxLen int) *fieldError {
	n := utf8.RuneCountInString(v)
	if n < minLen {
		return badField(field, "is required")
	}
	if n > maxLen {
		return badField(field, "must be at most %d characters", maxLen)
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return badField(field, "must be printable text")
	}
	return nil
}
