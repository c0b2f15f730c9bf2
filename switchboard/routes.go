package switchboard

import (
	"bufio"
	_ "embed"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/carebooth/carebooth/switchboard/api"
)

// access says who may call a route.
type access int

const (
	public        access = iota // no credentials
	anyPrincipal                // a clinician or a device
	clinicianOnly               // a clinician session
	adminOnly                   // a clinician with admin set
	metricsOnly                 // the metrics token
)

// route is one entry of the route table. The table is the single list the router is
// built from and the OpenAPI test enumerates.
type route struct {
	method  string
	path    string // ServeMux pattern path, which is also the OpenAPI path
	access  access
	handler func(w http.ResponseWriter, r *http.Request, p *principal)
}

// routes returns the switchboard's route table.
func (s *Server) routes() []route {
	return []route{
		{"POST", "/api/v1/login", public, s.handleLogin},
		{"POST", "/api/v1/logout", clinicianOnly, s.handleLogout},
		{"GET", "/api/v1/me", anyPrincipal, s.handleMe},
		{"GET", "/api/v1/clinics", clinicianOnly, s.handleListClinics},
		{"POST", "/api/v1/clinics", adminOnly, s.handleCreateClinic},
		{"POST", "/api/v1/clinicians", adminOnly, s.handleCreateClinician},
		{"GET", "/api/v1/devices", clinicianOnly, s.handleListDevices},
		{"POST", "/api/v1/devices", adminOnly, s.handleCreateDevice},
		{"GET", "/api/v1/devices/{id}", clinicianOnly, s.handleGetDevice},
		{"GET", "/api/v1/appointments", anyPrincipal, s.handleListAppointments},
		{"POST", "/api/v1/appointments", clinicianOnly, s.handleCreateAppointment},
		{"POST", "/api/v1/appointments/import", clinicianOnly, s.longRequest(s.handleImportAppointments)},
		{"GET", "/api/v1/appointments/{id}", anyPrincipal, s.handleGetAppointment},
		{"DELETE", "/api/v1/appointments/{id}", clinicianOnly, s.handleCancelAppointment},
		{"POST", "/api/v1/appointments/{id}/no-show", clinicianOnly, s.handleNoShow},
		{"POST", "/api/v1/appointments/{id}/telephone", clinicianOnly, s.handleTelephone},
		{"GET", "/api/v1/appointments/{id}/events", anyPrincipal, s.handleAppointmentEvents},
		{"PUT", "/api/v1/devices/{id}/settings", adminOnly, s.handleDeviceSettings},
		{"POST", "/api/v1/devices/{id}/revoke", adminOnly, s.handleRevokeDevice},
		{"POST", "/api/v1/devices/{id}/help/acknowledge", clinicianOnly, s.handleAcknowledgeHelp},
		{"GET", "/api/v1/staff/devices", clinicianOnly, s.handleStaffDevices},
		{"POST", "/api/v1/devices/{id}/selftest", adminOnly, s.handleSelfTest},
		{"GET", "/api/v1/devices/{id}/logs", adminOnly, s.handleDeviceLogs},
		{"PUT", "/api/v1/config", adminOnly, s.handlePutConfig},
		{"GET", "/api/v1/config", adminOnly, s.handleGetConfig},
		{"GET", "/api/v1/waiting-room", clinicianOnly, s.handleWaitingRoom},
		{"GET", "/api/v1/reports", clinicianOnly, s.handleReport},
		{"GET", "/api/v1/signal", anyPrincipal, s.handleSignal},
		{"POST", "/api/v1/enrol", public, s.handleEnrol},
		{"GET", "/api/v1/enrol", public, s.handleEnrolStatus},
		{"GET", "/api/v1/enrolments", adminOnly, s.handleListEnrolments},
		{"POST", "/api/v1/enrolments/approve", adminOnly, s.handleApproveEnrolment},
		{"GET", "/api/v1/audit", adminOnly, s.handleAudit},
		{"POST", "/api/v1/firmware", adminOnly, s.longRequest(s.handlePublishFirmware)},
		{"GET", "/api/v1/firmware", adminOnly, s.handleListReleases},
		{"GET", "/api/v1/firmware/announcement", anyPrincipal, s.handleAnnouncement},
		{"GET", "/api/v1/firmware/{id}", adminOnly, s.handleGetRelease},
		{"GET", "/api/v1/firmware/{id}/bundle", anyPrincipal, s.longRequest(s.handleReleaseBundle)},
		{"POST", "/api/v1/firmware/{id}/reports", anyPrincipal, s.handleReleaseReport},
		{"POST", "/api/v1/firmware/{id}/pause", adminOnly, s.handleRolloutControl(controlPause)},
		{"POST", "/api/v1/firmware/{id}/resume", adminOnly, s.handleRolloutControl(controlResume)},
		{"POST", "/api/v1/firmware/{id}/promote", adminOnly, s.handleRolloutControl(controlPromote)},
		{"GET", "/api/v1/openapi.yaml", public, handleOpenAPI},
		{"GET", "/metrics", metricsOnly, s.handleMetrics},
	}
}

func (s *Server) buildHandler(webapp http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no API route %s %s; see /api/v1/openapi.yaml", r.Method, r.URL.Path)
	})
	if webapp == nil {
		webapp = http.NotFoundHandler()
	}
	mux.Handle("/", webapp)
	return s.edge(mux)
}

// wrap authenticates and authorises a request for rt and records its metrics.
func (s *Server) wrap(rt route) http.Handler {
	label := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.clock.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.metrics.httpRequests.WithLabelValues(label, strconv.Itoa(rec.status)).Inc()
			s.metrics.httpSeconds.WithLabelValues(label).Observe(s.clock.Since(start).Seconds())
		}()
		if why := s.crossSiteWrite(r); why != "" {
			s.log.Info("cross-site write refused", "method", r.Method, "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "addr", clientIP(r))
			writeError(rec, http.StatusForbidden, api.CodeForbidden, "%s", why)
			return
		}
		var p *principal
		switch rt.access {
		case public:
		case metricsOnly:
			if !s.metricsAuthorized(r) {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				writeError(rec, http.StatusUnauthorized, api.CodeUnauthorized, "send Authorization: Bearer <metrics token> (the switchboard's -metrics-token)")
				return
			}
		default:
			var err error
			p, err = s.authenticate(r)
			if errors.Is(err, errRevoked) {
				writeRevoked(rec)
				return
			}
			if errors.Is(err, errDeviceTokens) {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="carebooth"`)
				writeError(rec, http.StatusUnauthorized, api.CodeUnauthorized,
					"this switchboard authenticates devices by their keys, not tokens: remove switchboard.token_file from the booth's config so it enrols by activation code (docs/fleet.md)")
				return
			}
			if err != nil {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="carebooth"`)
				writeError(rec, http.StatusUnauthorized, api.CodeUnauthorized, "log in (POST /api/v1/login) or send a valid bearer token")
				return
			}
			if rt.access >= clinicianOnly && p.clinician == nil {
				writeError(rec, http.StatusForbidden, api.CodeForbidden, "this route is for clinicians, not devices")
				return
			}
			if rt.access == adminOnly && !p.clinician.Admin {
				writeError(rec, http.StatusForbidden, api.CodeForbidden, "this route needs an admin account")
				return
			}
		}
		rt.handler(rec, r, p)
	})
}

// longRequest gives an authenticated request ConnLimits.ImportTimeout, instead of
// ReadTimeout and WriteTimeout, to send its body and get its answer: only once its
// sender is known may it hold a connection that long.
func (s *Server) longRequest(h func(http.ResponseWriter, *http.Request, *principal)) func(http.ResponseWriter, *http.Request, *principal) {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		rc := http.NewResponseController(w)
		until := time.Now().Add(s.cfg.ConnLimits.ImportTimeout) // real time: deadlines are the network's
		// Under httptest or another server without deadlines these fail; nothing to extend.
		rc.SetReadDeadline(until)  //nolint:errcheck
		rc.SetWriteDeadline(until) //nolint:errcheck
		h(w, r, p)
	}
}

// statusRecorder remembers the response status for metrics. It unwraps for
// http.ResponseController and hijacks for the WebSocket upgrade.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot hijack")
	}
	if !r.wroteHeader {
		r.status, r.wroteHeader = http.StatusSwitchingProtocols, true
	}
	return hj.Hijack()
}

//go:embed openapi.yaml
var openAPIDoc []byte

func handleOpenAPI(w http.ResponseWriter, _ *http.Request, _ *principal) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(openAPIDoc) //nolint:errcheck
}
