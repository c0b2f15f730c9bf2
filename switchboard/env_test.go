package switchboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

const testPassword = "correct horse battery"

// The hub's limits, as the tests through the API see them.
const (
	sendQueueLen = hub.SendQueueLen
	maxRefusals  = hub.MaxRefusals
)

// env is a switchboard on an httptest server with a memory store holding two clinics,
// each with a clinician and a booth with one appointment, plus an admin.
type env struct {
	t     *testing.T
	st    *store.Memory
	clock *clockwork.FakeClock
	srv   *Server
	ts    *httptest.Server
	reg   *prometheus.Registry
	ca    *deviceca.CA

	clinic, otherClinic store.Clinic
	// session tokens: adminTok is the admin of clinic's site, fleetTok an admin of every
	// site (no clinic)
	adminTok, fleetTok, docTok, otherDocTok string
	doc                                     store.Clinician
	// device tokens
	boothTok, otherBoothTok string
	booth, otherBooth       store.Device
	appt, otherAppt         store.Appointment
}

const testMetricsToken = "metrics-secret"

func newEnv(t *testing.T) *env { return newEnvWith(t, func(*Config) {}) }

func newEnvWith(t *testing.T, configure func(*Config)) *env {
	t.Helper()
	e := &env{t: t, st: store.NewMemory(), clock: clockwork.NewFakeClockAt(t0), reg: prometheus.NewRegistry()}
	cfg := Config{MetricsToken: testMetricsToken, BcryptCost: bcrypt.MinCost}
	configure(&cfg)
	ca, _, err := deviceca.Open(t.TempDir(), "test devices", e.clock.Now)
	must(t, err)
	e.ca = ca
	srv, err := New(cfg,
		Deps{Store: e.st, Clock: e.clock, Registerer: e.reg, CA: ca,
			WebApp: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "web app") })})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = newTestServer(t, srv)

	e.clinic = store.Clinic{Name: "Riverside", Phone: "01632 960 123"}
	e.otherClinic = store.Clinic{Name: "Hillside", Phone: "2"}
	must(t, e.st.CreateClinic(&e.clinic))
	must(t, e.st.CreateClinic(&e.otherClinic))
	e.adminTok = e.addClinician("admin", "Admin", e.clinic.ID, true).tok
	e.fleetTok = e.addClinician("it.fleet", "Fleet IT", "", true).tok
	d := e.addClinician("dr.patel", "Dr Patel", e.clinic.ID, false)
	e.doc, e.docTok = d.c, d.tok
	e.otherDocTok = e.addClinician("dr.other", "Dr Other", e.otherClinic.ID, false).tok
	e.booth, e.boothTok = e.addDevice("booth-1", e.clinic.ID)
	e.otherBooth, e.otherBoothTok = e.addDevice("booth-2", e.otherClinic.ID)
	e.appt = e.addAppointment(e.booth, "Alex Morgan", t0.Add(5*time.Minute))
	e.otherAppt = e.addAppointment(e.otherBooth, "Sam Jones", t0.Add(5*time.Minute))
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type clinicianTok struct {
	c   store.Clinician
	tok string
}

func (e *env) addClinician(user, name, clinic string, admin bool) clinicianTok {
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	must(e.t, err)
	c := store.Clinician{Username: user, Name: name, ClinicID: clinic, Admin: admin, PasswordHash: hash}
	must(e.t, e.st.CreateClinician(&c))
	tok := newToken(sessionTokenPrefix)
	must(e.t, e.st.CreateSession(store.Session{TokenHash: hashToken(tok), ClinicianID: c.ID, Expires: e.clock.Now().Add(12 * time.Hour)}))
	return clinicianTok{c, tok}
}

func (e *env) addDevice(name, clinic string) (store.Device, string) {
	tok := newToken(deviceTokenPrefix)
	d := store.Device{Name: name, ClinicID: clinic, Role: device.RoleBooth, TokenHash: hashToken(tok), CreatedAt: t0, LastSeen: t0}
	must(e.t, e.st.CreateDevice(&d))
	return d, tok
}

func (e *env) addAppointment(d store.Device, patient string, start time.Time) store.Appointment {
	a := store.Appointment{ClinicID: d.ClinicID, DeviceID: d.ID, Patient: patient, Start: start, End: start.Add(20 * time.Minute),
		Status: appointment.Scheduled, CreatedAt: t0, UpdatedAt: t0}
	must(e.t, e.st.CreateAppointment(&a))
	return a
}

func (e *env) snapshot() string {
	b, err := e.st.Snapshot()
	must(e.t, err)
	return string(b)
}

// do sends a request with an optional bearer token and body, and returns the status and
// body.
func (e *env) do(method, path, tok string, body any) (int, []byte) {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
		return e.doRaw(method, path, tok, "", nil)
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		must(e.t, err)
	}
	return e.doRaw(method, path, tok, "application/json", raw)
}

// doRaw sends body with a content type ("" with no body) and returns the status and body.
func (e *env) doRaw(method, path, tok, contentType string, body []byte) (int, []byte) {
	e.t.Helper()
	res, out := e.send(method, path, string(body), bearer(tok, "Content-Type", contentType))
	return res.StatusCode, out
}

// bearer is the headers of a request with token tok (none when empty) and, when v is
// not empty, header k set to v.
func bearer(tok, k, v string) map[string]string {
	hdr := map[string]string{}
	if tok != "" {
		hdr["Authorization"] = "Bearer " + tok
	}
	if v != "" {
		hdr[k] = v
	}
	return hdr
}

// send makes a request with the given headers and returns the response (body read).
func (e *env) send(method, path, body string, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	must(e.t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.ts.Client().Do(req)
	must(e.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	must(e.t, err)
	return res, out
}

// errorOf decodes an API error body.
func errorOf(t *testing.T, body []byte) api.Error {
	t.Helper()
	var v struct{ Error api.Error }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return v.Error
}

// newTestServer serves srv on an httptest server closed with the test.
func newTestServer(t *testing.T, srv *Server) *httptest.Server {
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close() // first: hijacked WebSockets are not waited for by ts.Close
		ts.Close()
	})
	return ts
}
