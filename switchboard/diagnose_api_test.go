package switchboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
)

type apiResult struct {
	code int
	body []byte
}

// doAsync sends a request in the background, for one the test must answer as the device.
func (e *env) doAsync(method, path, tok string) <-chan apiResult {
	out := make(chan apiResult, 1)
	go func() {
		code, body := e.do(method, path, tok, nil)
		out <- apiResult{code, body}
	}()
	return out
}

func wait(t *testing.T, ch <-chan apiResult) apiResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the API did not answer")
		return apiResult{}
	}
}

// TestSelfTestAndLogsOnRequest: an admin's self-test and log requests reach the booth over
// its signalling connection and its answers come back through the API; both are audited.
func TestSelfTestAndLogsOnRequest(t *testing.T) {
	e := newEnv(t)
	booth := e.hello(e.boothTok, signalling.RoleDevice)

	res := e.doAsync("POST", "/api/v1/devices/"+e.booth.ID+"/selftest", e.adminTok)
	ask := expect[signalling.Diagnose](booth, signalling.TypeDiagnose)
	if ask.Kind != signalling.DiagnoseSelfTest {
		t.Fatalf("got kind %s, want selftest", ask.Kind)
	}
	checks := []signalling.CheckResult{
		{Name: "switchboard", OK: true, TookMs: 4},
		{Name: "camera", OK: false, Detail: "no frame within 5s", TookMs: 5000},
	}
	booth.send(signalling.TypeDiagnosis, &signalling.Diagnosis{Request: ask.Request, Kind: ask.Kind, Checks: checks})
	r := wait(t, res)
	var st api.SelfTest
	if r.code != http.StatusOK {
		t.Fatalf("selftest: got %d %s, want 200", r.code, r.body)
	}
	must(t, json.Unmarshal(r.body, &st))
	if st.Passed || len(st.Checks) != 2 || st.Checks[1].Detail != "no frame within 5s" {
		t.Fatalf("got %+v, want the booth's two checks, not passed", st)
	}

	res = e.doAsync("GET", "/api/v1/devices/"+e.booth.ID+"/logs?lines=2", e.fleetTok)
	ask = expect[signalling.Diagnose](booth, signalling.TypeDiagnose)
	if ask.Kind != signalling.DiagnoseLogs || ask.Lines != 2 {
		t.Fatalf("got %+v, want logs, 2 lines", ask)
	}
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	booth.send(signalling.TypeDiagnosis, &signalling.Diagnosis{Request: ask.Request, Kind: ask.Kind,
		Logs: []signalling.LogLine{{Time: at, Text: "level=INFO msg=a"}, {Time: at.Add(time.Second), Text: "level=WARN msg=b"}}})
	r = wait(t, res)
	var logs api.DeviceLogs
	if r.code != http.StatusOK {
		t.Fatalf("logs: got %d %s, want 200", r.code, r.body)
	}
	must(t, json.Unmarshal(r.body, &logs))
	if len(logs.Lines) != 2 || logs.Lines[1].Text != "level=WARN msg=b" || !logs.Lines[0].Time.Equal(at) {
		t.Fatalf("got %+v, want the booth's two lines", logs)
	}

	_, log, _ := e.auditLog(e.fleetTok, "")
	var saw []audit.Action
	for _, en := range log.Entries {
		if en.Target == e.booth.ID {
			saw = append(saw, en.Action)
		}
	}
	if !strings.Contains(strings.Join(toStrings(saw), ","), "device_selftest") || !strings.Contains(strings.Join(toStrings(saw), ","), "device_logs") {
		t.Fatalf("audit for the booth: got %v, want device_selftest and device_logs", saw)
	}
}

func toStrings(as []audit.Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

// TestSelfTestRefusals: who may ask, of which device, and what an offline device gives.
func TestSelfTestRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path, tok string
		want                    int
	}{
		{"clinician", "POST", "/api/v1/devices/" + e.booth.ID + "/selftest", e.docTok, http.StatusForbidden},
		{"the device itself", "GET", "/api/v1/devices/" + e.booth.ID + "/logs", e.boothTok, http.StatusForbidden},
		{"no login", "POST", "/api/v1/devices/" + e.booth.ID + "/selftest", "", http.StatusUnauthorized},
		{"another site's device", "POST", "/api/v1/devices/" + e.otherBooth.ID + "/selftest", e.adminTok, http.StatusNotFound},
		{"no such device", "GET", "/api/v1/devices/nope/logs", e.adminTok, http.StatusNotFound},
		{"lines zero", "GET", "/api/v1/devices/" + e.booth.ID + "/logs?lines=0", e.adminTok, http.StatusBadRequest},
		{"lines too many", "GET", "/api/v1/devices/" + e.booth.ID + "/logs?lines=501", e.adminTok, http.StatusBadRequest},
		{"offline", "POST", "/api/v1/devices/" + e.booth.ID + "/selftest", e.adminTok, http.StatusConflict},
		{"offline logs", "GET", "/api/v1/devices/" + e.booth.ID + "/logs", e.fleetTok, http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(tc.method, tc.path, tc.tok, nil)
			if code != tc.want {
				t.Fatalf("got %d %s, want %d", code, body, tc.want)
			}
			if tc.want == http.StatusConflict && !strings.Contains(string(body), api.CodeDeviceOffline) {
				t.Fatalf("got %s, want code %s", body, api.CodeDeviceOffline)
			}
		})
	}
	// A device that hangs up instead of answering: the caller gets device_offline, not a
	// 30 s wait.
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	res := e.doAsync("POST", "/api/v1/devices/"+e.booth.ID+"/selftest", e.adminTok)
	expect[signalling.Diagnose](booth, signalling.TypeDiagnose)
	booth.ws.CloseNow()
	if r := wait(t, res); r.code != http.StatusConflict {
		t.Fatalf("hung up: got %d %s, want 409", r.code, r.body)
	}
}
