package switchboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/store"
)

// pathFor fills a route's path parameters.
func (e *env) pathFor(rt route) string {
	return strings.ReplaceAll(rt.path, "{id}", e.appt.ID)
}

func TestRoutesRefuseWithoutAuth(t *testing.T) {
	e := newEnv(t)
	before := e.snapshot()
	for _, rt := range e.srv.routes() {
		if rt.access == public {
			continue
		}
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for name, tok := range map[string]string{"none": "", "garbage": "cbs_nope", "bad device": "cbd_nope", "other scheme": ""} {
				req, _ := http.NewRequest(rt.method, e.ts.URL+e.pathFor(rt), strings.NewReader(`{}`))
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				if name == "other scheme" {
					req.Header.Set("Authorization", "Basic YWRtaW46cGFzcw==")
				}
				res, err := e.ts.Client().Do(req)
				must(t, err)
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s credentials: got %d, want 401", name, res.StatusCode)
				}
			}
		})
	}
	if got := e.snapshot(); got != before {
		t.Errorf("store changed by refused requests")
	}
}

func TestRoutesRefuseWrongKindOfAuth(t *testing.T) {
	e := newEnv(t)
	before := e.snapshot()
	for _, rt := range e.srv.routes() {
		var cases []struct{ who, tok string }
		switch rt.access {
		case clinicianOnly:
			cases = append(cases, struct{ who, tok string }{"device", e.boothTok})
		case adminOnly:
			cases = append(cases, struct{ who, tok string }{"device", e.boothTok}, struct{ who, tok string }{"clinician", e.docTok})
		case metricsOnly:
			cases = append(cases, struct{ who, tok string }{"admin session", e.adminTok})
		}
		for _, c := range cases {
			t.Run(rt.method+" "+rt.path+" as "+c.who, func(t *testing.T) {
				code, body := e.do(rt.method, e.pathFor(rt), c.tok, `{}`)
				want := http.StatusForbidden
				if rt.access == metricsOnly {
					want = http.StatusUnauthorized
				}
				if code != want {
					t.Errorf("got %d %s, want %d", code, body, want)
				}
			})
		}
	}
	if got := e.snapshot(); got != before {
		t.Errorf("store changed by refused requests")
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	code, body := e.do("POST", "/api/v1/login", "", map[string]string{"username": "dr.patel", "password": testPassword})
	if code != http.StatusOK {
		t.Fatalf("login: got %d %s, want 200", code, body)
	}
	var res struct {
		Token     string
		Clinician api.Clinician
	}
	must(t, json.Unmarshal(body, &res))
	if !strings.HasPrefix(res.Token, sessionTokenPrefix) || res.Clinician.Username != "dr.patel" {
		t.Errorf("login body: got %+v", res)
	}
	if strings.Contains(string(body), "password_hash") {
		t.Errorf("login body leaks the password hash: %s", body)
	}

	// The cookie works as well as the bearer token.
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/login", strings.NewReader(`{"username":"dr.patel","password":"`+testPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	r, err := e.ts.Client().Do(req)
	must(t, err)
	r.Body.Close()
	var cookie *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Fatalf("cookie: got %+v, want HttpOnly, SameSite=Strict, not Secure without TLS", cookie)
	}
	req, _ = http.NewRequest("GET", e.ts.URL+"/api/v1/me", nil)
	req.AddCookie(cookie)
	r, err = e.ts.Client().Do(req)
	must(t, err)
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Errorf("me by cookie: got %d, want 200", r.StatusCode)
	}

	if code, _ := e.do("GET", "/api/v1/me", res.Token, nil); code != http.StatusOK {
		t.Errorf("me by bearer: got %d, want 200", code)
	}
	if code, _ := e.do("POST", "/api/v1/logout", res.Token, nil); code != http.StatusNoContent {
		t.Errorf("logout: got %d, want 204", code)
	}
	if code, _ := e.do("GET", "/api/v1/me", res.Token, nil); code != http.StatusUnauthorized {
		t.Errorf("me after logout: got %d, want 401", code)
	}

	// Sessions expire.
	e.clock.Advance(13 * time.Hour)
	if code, _ := e.do("GET", "/api/v1/me", e.docTok, nil); code != http.StatusUnauthorized {
		t.Errorf("me after 13 h: got %d, want 401", code)
	}
}

func TestLoginRefused(t *testing.T) {
	e := newEnv(t)
	before := e.snapshot()
	wrongPw := func(user string) (int, api.Error) {
		code, body := e.do("POST", "/api/v1/login", "", map[string]string{"username": user, "password": "wrong password"})
		return code, errorOf(t, body)
	}
	c1, e1 := wrongPw("dr.patel")
	c2, e2 := wrongPw("nobody")
	if c1 != http.StatusUnauthorized || c2 != http.StatusUnauthorized {
		t.Errorf("wrong password / unknown user: got %d, %d, want 401, 401", c1, c2)
	}
	if e1 != e2 {
		t.Errorf("the two failures differ (%+v vs %+v): they must not say which part was wrong", e1, e2)
	}
	if got := e.snapshot(); got != before {
		t.Errorf("store changed by failed logins")
	}
	for range defaultLoginLimits.FreeFails {
		wrongPw("dr.other")
	}
	code, body := e.do("POST", "/api/v1/login", "", map[string]string{"username": "dr.other", "password": testPassword})
	if code != http.StatusTooManyRequests {
		t.Errorf("login after %d failures: got %d %s, want 429", defaultLoginLimits.FreeFails, code, body)
	}
	e.clock.Advance(defaultLoginLimits.BaseDelay)
	if code, body := e.do("POST", "/api/v1/login", "", map[string]string{"username": "dr.other", "password": testPassword}); code != http.StatusOK {
		t.Errorf("login after the backoff: got %d %s, want 200", code, body)
	}
}

func TestAPIHappyPath(t *testing.T) {
	e := newEnv(t)
	var clinic store.Clinic
	code, body := e.do("POST", "/api/v1/clinics", e.fleetTok, map[string]string{"name": "Lakeside", "phone": "0123"})
	if code != http.StatusCreated {
		t.Fatalf("create clinic: got %d %s", code, body)
	}
	must(t, json.Unmarshal(body, &clinic))

	code, body = e.do("POST", "/api/v1/clinicians", e.fleetTok, map[string]any{"username": "dr.lee", "password": testPassword, "name": "Dr Lee", "clinic_id": clinic.ID})
	if code != http.StatusCreated {
		t.Fatalf("create clinician: got %d %s", code, body)
	}
	code, body = e.do("POST", "/api/v1/login", "", map[string]string{"username": "dr.lee", "password": testPassword})
	if code != http.StatusOK {
		t.Fatalf("login new clinician: got %d %s", code, body)
	}
	var login struct{ Token string }
	must(t, json.Unmarshal(body, &login))

	code, body = e.do("POST", "/api/v1/devices", e.fleetTok, map[string]any{"name": "lake-booth", "clinic_id": clinic.ID})
	if code != http.StatusCreated {
		t.Fatalf("create device: got %d %s", code, body)
	}
	var dev struct {
		Device api.Device
		Token  string
	}
	must(t, json.Unmarshal(body, &dev))
	if dev.Device.Role != device.RoleBooth || !strings.HasPrefix(dev.Token, deviceTokenPrefix) {
		t.Errorf("device: got %+v", dev)
	}

	start := t0.Add(time.Hour)
	code, body = e.do("POST", "/api/v1/appointments", login.Token, map[string]any{"device_id": dev.Device.ID, "patient": "Kim", "start": start, "end": start.Add(20 * time.Minute)})
	if code != http.StatusCreated {
		t.Fatalf("create appointment: got %d %s", code, body)
	}
	var appt store.Appointment
	must(t, json.Unmarshal(body, &appt))
	if appt.ClinicID != clinic.ID || appt.Status != appointment.Scheduled {
		t.Errorf("appointment: got %+v", appt)
	}

	for who, tok := range map[string]string{"clinician": login.Token, "device": dev.Token} {
		code, body = e.do("GET", "/api/v1/appointments", tok, nil)
		var list struct{ Appointments []store.Appointment }
		must(t, json.Unmarshal(body, &list))
		if code != http.StatusOK || len(list.Appointments) != 1 || list.Appointments[0].ID != appt.ID {
			t.Errorf("%s lists: got %d %s, want just %s", who, code, body, appt.ID)
		}
		if code, _ := e.do("GET", "/api/v1/appointments/"+appt.ID, tok, nil); code != http.StatusOK {
			t.Errorf("%s gets: got %d, want 200", who, code)
		}
	}
	code, body = e.do("GET", "/api/v1/devices", login.Token, nil)
	if code != http.StatusOK || !strings.Contains(string(body), dev.Device.ID) || strings.Contains(string(body), "token") {
		t.Errorf("devices: got %d %s", code, body)
	}
	code, body = e.do("GET", "/api/v1/clinics", login.Token, nil)
	if code != http.StatusOK || !strings.Contains(string(body), "Lakeside") || strings.Contains(string(body), "Riverside") {
		t.Errorf("clinics as clinician: got %d %s, want only their own", code, body)
	}
	code, body = e.do("GET", "/api/v1/waiting-room", login.Token, nil)
	var q signalling.Queue
	must(t, json.Unmarshal(body, &q))
	if code != http.StatusOK || q.ClinicID != clinic.ID || len(q.Entries) != 0 {
		t.Errorf("waiting room: got %d %s", code, body)
	}
	code, body = e.do("DELETE", "/api/v1/appointments/"+appt.ID, login.Token, nil)
	must(t, json.Unmarshal(body, &appt))
	if code != http.StatusOK || appt.Status != appointment.Cancelled {
		t.Errorf("cancel: got %d %s", code, body)
	}
	if code, _ := e.do("DELETE", "/api/v1/appointments/"+appt.ID, login.Token, nil); code != http.StatusOK {
		t.Errorf("cancel again: got %d, want 200 (idempotent)", code)
	}
	code, body = e.do("GET", "/api/v1/openapi.yaml", "", nil)
	if code != http.StatusOK || !strings.HasPrefix(string(body), "openapi: 3.0") {
		t.Errorf("openapi: got %d", code)
	}
	code, body = e.do("GET", "/", "", nil)
	if code != http.StatusOK || string(body) != "web app" {
		t.Errorf("web app at /: got %d %q", code, body)
	}
	code, body = e.do("GET", "/api/v1/nope", e.docTok, nil)
	if code != http.StatusNotFound || errorOf(t, body).Code != api.CodeNotFound {
		t.Errorf("unknown API path: got %d %s, want a JSON 404", code, body)
	}
}

func TestAPINotFound(t *testing.T) {
	e := newEnv(t)
	before := e.snapshot()
	for _, tc := range []struct{ name, method, id, tok string }{
		{"unknown id", "GET", "doesnotexist", e.docTok},
		{"unknown id cancel", "DELETE", "doesnotexist", e.docTok},
		{"malformed id", "GET", "not%20an%20id", e.docTok},
		{"other clinic's", "GET", e.otherAppt.ID, e.docTok},
		{"other clinic's cancel", "DELETE", e.otherAppt.ID, e.docTok},
		{"other device's", "GET", e.otherAppt.ID, e.boothTok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(tc.method, "/api/v1/appointments/"+tc.id, tc.tok, nil)
			if code != http.StatusNotFound || errorOf(t, body).Code != api.CodeNotFound {
				t.Errorf("got %d %s, want 404 not_found", code, body)
			}
		})
	}
	if got := e.snapshot(); got != before {
		t.Errorf("store changed")
	}
}

func TestAPIBadBodies(t *testing.T) {
	e := newEnv(t)
	before := e.snapshot()
	start := t0.Add(time.Hour).Format(time.RFC3339)
	end := t0.Add(90 * time.Minute).Format(time.RFC3339)
	tests := []struct {
		name, path, tok, body string
		status                int
		field, inMessage      string
	}{
		{"unknown field", "/api/v1/clinics", e.adminTok, `{"name":"x","colour":"red"}`, 400, "colour", "unknown field"},
		{"bad JSON", "/api/v1/clinics", e.adminTok, `{"name":`, 400, "", "JSON"},
		{"empty body", "/api/v1/clinics", e.adminTok, ``, 400, "", "empty"},
		{"array", "/api/v1/clinics", e.adminTok, `[1]`, 400, "", "object"},
		{"trailing data", "/api/v1/clinics", e.adminTok, `{"name":"x"}{}`, 400, "", "trailing"},
		{"wrong type", "/api/v1/clinics", e.adminTok, `{"name":5}`, 400, "name", "string"},
		{"missing name", "/api/v1/clinics", e.adminTok, `{"phone":"1"}`, 400, "name", "required"},
		{"oversized", "/api/v1/clinics", e.adminTok, `{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, "", "larger"},
		{"short password", "/api/v1/clinicians", e.adminTok, `{"username":"a","password":"short","name":"A","clinic_id":"` + e.clinic.ID + `"}`, 400, "password", "10"},
		{"bad username", "/api/v1/clinicians", e.adminTok, `{"username":"A B","password":"` + testPassword + `","name":"A","clinic_id":"` + e.clinic.ID + `"}`, 400, "username", "lower-case"},
		{"duplicate username", "/api/v1/clinicians", e.adminTok, `{"username":"dr.patel","password":"` + testPassword + `","name":"A","clinic_id":"` + e.clinic.ID + `"}`, 409, "username", "taken"},
		{"unknown clinic", "/api/v1/clinicians", e.fleetTok, `{"username":"x","password":"` + testPassword + `","name":"A","clinic_id":"nope"}`, 400, "clinic_id", "no clinic"},
		{"bad role", "/api/v1/devices", e.adminTok, `{"name":"x","clinic_id":"` + e.clinic.ID + `","role":"toaster"}`, 400, "role", "booth"},
		{"end before start", "/api/v1/appointments", e.docTok, `{"device_id":"` + e.booth.ID + `","patient":"P","start":"` + end + `","end":"` + start + `"}`, 400, "end", "after start"},
		{"bad time", "/api/v1/appointments", e.docTok, `{"device_id":"` + e.booth.ID + `","patient":"P","start":"tomorrow","end":"` + end + `"}`, 400, "", "tomorrow"},
		{"other clinic's device", "/api/v1/appointments", e.docTok, `{"device_id":"` + e.otherBooth.ID + `","patient":"P","start":"` + start + `","end":"` + end + `"}`, 400, "device_id", "no device"},
		{"other clinic", "/api/v1/appointments", e.docTok, `{"clinic_id":"` + e.otherClinic.ID + `","device_id":"` + e.otherBooth.ID + `","patient":"P","start":"` + start + `","end":"` + end + `"}`, 403, "", "own clinic"},
		{"control characters", "/api/v1/appointments", e.docTok, `{"device_id":"` + e.booth.ID + `","patient":"P\u0007","start":"` + start + `","end":"` + end + `"}`, 400, "patient", "printable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do("POST", tc.path, tc.tok, tc.body)
			if code != tc.status {
				t.Fatalf("got %d %s, want %d", code, body, tc.status)
			}
			ae := errorOf(t, body)
			if ae.Field != tc.field {
				t.Errorf("field: got %q, want %q (%s)", ae.Field, tc.field, ae.Message)
			}
			if !strings.Contains(ae.Message, tc.inMessage) {
				t.Errorf("message: got %q, want it to mention %q", ae.Message, tc.inMessage)
			}
			if tc.field != "" && !strings.Contains(ae.Message, tc.field) {
				t.Errorf("message %q does not name the field %q", ae.Message, tc.field)
			}
		})
	}
	for _, q := range []string{"from=yesterday", "to=2020-01-01T00:00:00Z"} {
		if code, body := e.do("GET", "/api/v1/appointments?"+q, e.docTok, nil); code != http.StatusBadRequest {
			t.Errorf("GET appointments?%s: got %d %s, want 400", q, code, body)
		}
	}
	if got := e.snapshot(); got != before {
		t.Errorf("store changed by refused requests")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/api/v1/me", e.docTok, nil)
	// The request is counted after its response is written, so the count may lag the
	// response by a moment.
	var code int
	var body []byte
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code, body = e.do("GET", "/metrics", testMetricsToken, nil)
		if code != http.StatusOK {
			t.Fatalf("metrics: got %d", code)
		}
		if strings.Contains(string(body), `route="GET /api/v1/me"`) || time.Now().After(deadline) {
			break
		}
	}
	for _, name := range []string{"carebooth_switchboard_http_requests_total", `route="GET /api/v1/me"`} {
		if !strings.Contains(string(body), name) {
			t.Errorf("metrics do not mention %s", name)
		}
	}
	if code, _ := e.do("GET", "/metrics", "wrong", nil); code != http.StatusUnauthorized {
		t.Errorf("wrong metrics token: got %d, want 401", code)
	}
}
