package switchboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
)

func (e *env) auditLog(tok, query string) (int, api.AuditLog, []byte) {
	e.t.Helper()
	code, body := e.do("GET", "/api/v1/audit"+query, tok, nil)
	var l api.AuditLog
	if code == http.StatusOK {
		must(e.t, json.Unmarshal(body, &l))
	}
	return code, l, body
}

func actions(es []audit.Entry) []audit.Action {
	out := []audit.Action{}
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

// TestAuditLogRecordsChanges: logins (and a failed one), a booking, an admit and the end
// of a call in the hub, and a revocation are appended with who, what, target and from
// where; a site admin sees only their site's entries; filters and pages work.
func TestAuditLogRecordsChanges(t *testing.T) {
	e := newEnv(t)
	if code, _ := e.do("POST", "/api/v1/login", "", map[string]string{"username": "dr.patel", "password": "wrong password!"}); code != http.StatusUnauthorized {
		t.Fatalf("failed login: got %d", code)
	}
	if code, _ := e.do("POST", "/api/v1/login", "", map[string]string{"username": "dr.patel", "password": testPassword}); code != http.StatusOK {
		t.Fatalf("login: got %d", code)
	}
	start := t0.Add(3 * time.Hour)
	if code, body := e.do("POST", "/api/v1/appointments", e.docTok, map[string]any{"device_id": e.booth.ID, "patient": "Kim Lee", "start": start, "end": start.Add(20 * time.Minute)}); code != http.StatusCreated {
		t.Fatalf("book: %d %s", code, body)
	}
	doc, booth, callID := e.inCall()
	booth.send(signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndHangup})
	expect[signalling.End](doc, signalling.TypeEnd)
	if code, body := e.revoke(e.fleetTok, e.otherBooth.ID, "stolen"); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, body)
	}

	code, all, body := e.auditLog(e.fleetTok, "")
	want := []audit.Action{audit.LoginFailed, audit.Login, audit.AppointmentCreate, audit.Admit, audit.CallEnd, audit.DeviceRevoke}
	if code != http.StatusOK || !slices.Equal(actions(all.Entries), want) {
		t.Fatalf("fleet admin: got %d %v, want %v (%s)", code, actions(all.Entries), want, body)
	}
	byAction := map[audit.Action]audit.Entry{}
	for _, en := range all.Entries {
		byAction[en.Action] = en
	}
	for _, tc := range []struct {
		action           audit.Action
		kind             audit.ActorKind
		actor, target    string
		clinic, contains string
	}{
		{audit.LoginFailed, audit.ByAnonymous, "dr.patel", "", "", ""},
		{audit.Login, audit.ByClinician, "dr.patel", e.doc.ID, e.clinic.ID, ""},
		{audit.Admit, audit.ByClinician, "dr.patel", e.appt.ID, e.clinic.ID, callID},
		{audit.CallEnd, audit.ByDevice, e.booth.ID, e.appt.ID, e.clinic.ID, "hangup"},
		{audit.DeviceRevoke, audit.ByClinician, "it.fleet", e.otherBooth.ID, e.otherClinic.ID, "stolen"},
	} {
		got := byAction[tc.action]
		if got.ActorKind != tc.kind || got.Actor != tc.actor || got.Target != tc.target || got.ClinicID != tc.clinic ||
			!strings.Contains(got.Detail, tc.contains) || got.Addr != "127.0.0.1" || got.At.IsZero() {
			t.Errorf("%s: got %+v, want by %s %q, target %q, clinic %q, detail with %q, from 127.0.0.1", tc.action, got, tc.kind, tc.actor, tc.target, tc.clinic, tc.contains)
		}
	}
	for _, en := range all.Entries {
		if strings.Contains(en.Detail, "Alex Morgan") || strings.Contains(en.Detail, "Kim Lee") {
			t.Errorf("entry %d names a patient: %+v", en.Seq, en)
		}
	}

	// The site admin of clinic sees its entries only, not the other site's revocation nor
	// the anonymous failed login.
	_, site, _ := e.auditLog(e.adminTok, "")
	if got, want := actions(site.Entries), []audit.Action{audit.Login, audit.AppointmentCreate, audit.Admit, audit.CallEnd}; !slices.Equal(got, want) {
		t.Errorf("site admin: got %v, want %v", got, want)
	}
	if _, l, _ := e.auditLog(e.fleetTok, "?action=admit"); !slices.Equal(actions(l.Entries), []audit.Action{audit.Admit}) {
		t.Errorf("action=admit: got %v", actions(l.Entries))
	}
	if _, l, _ := e.auditLog(e.fleetTok, "?since=1h"); len(l.Entries) != len(all.Entries) {
		t.Errorf("since=1h: got %d, want all %d (the clock has not moved)", len(l.Entries), len(all.Entries))
	}
	if _, l, _ := e.auditLog(e.fleetTok, "?since="+t0.Add(time.Minute).Format(time.RFC3339)); len(l.Entries) != 0 {
		t.Errorf("since after every entry: got %v, want none", actions(l.Entries))
	}
	// Pages of two, following next_after to the end.
	var paged []audit.Action
	for q, pages := "?limit=2", 0; ; pages++ {
		_, l, body := e.auditLog(e.fleetTok, q)
		paged = append(paged, actions(l.Entries)...)
		if l.NextAfter == nil || pages > 5 {
			break
		}
		if len(l.Entries) != 2 {
			t.Fatalf("page %q: got %s, want two entries", q, body)
		}
		q = fmt.Sprintf("?limit=2&after=%d", *l.NextAfter)
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paged: got %v, want %v", paged, want)
	}
}

// TestAuditRefusals: bad filters name the parameter, only admins read the log, and there
// is no way to write, change or delete an entry through the API.
func TestAuditRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, query, tok string
		want                     []int
	}{
		{"a clinician", "GET", "", e.docTok, []int{403}},
		{"a device", "GET", "", e.boothTok, []int{403}},
		{"nobody", "GET", "", "", []int{401}},
		{"an unknown action", "GET", "?action=drop_tables", e.fleetTok, []int{400}},
		{"a bad since", "GET", "?since=yesterday", e.fleetTok, []int{400}},
		{"a number of days", "GET", "?since=7", e.fleetTok, []int{400}},
		{"a limit too large", "GET", "?limit=100000", e.fleetTok, []int{400}},
		{"a negative after", "GET", "?after=-1", e.fleetTok, []int{400}},
		{"POST", "POST", "", e.fleetTok, []int{404, 405}},
		{"PUT", "PUT", "", e.fleetTok, []int{404, 405}},
		{"DELETE", "DELETE", "", e.fleetTok, []int{404, 405}},
		{"DELETE one", "DELETE", "/1", e.fleetTok, []int{404, 405}},
		{"PUT one", "PUT", "/1", e.fleetTok, []int{404, 405}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(tc.method, "/api/v1/audit"+tc.query, tc.tok, `{}`)
			if !slices.Contains(tc.want, code) {
				t.Errorf("got %d %s, want one of %v", code, body, tc.want)
			}
		})
	}
	for _, rt := range e.srv.routes() {
		if strings.HasPrefix(rt.path, "/api/v1/audit") && rt.method != "GET" {
			t.Errorf("route %s %s writes to the audit log", rt.method, rt.path)
		}
	}
}

// TestAuditActionsDocumented: the action enum in openapi.yaml is audit.Actions.
func TestAuditActionsDocumented(t *testing.T) {
	doc := loadOpenAPI(t)
	p := doc.Paths.Value("/api/v1/audit").Get.Parameters.GetByInAndName("query", "action")
	var got []audit.Action
	for _, v := range p.Schema.Value.Enum {
		got = append(got, audit.Action(v.(string)))
	}
	if !slices.Equal(got, audit.Actions) {
		t.Errorf("openapi.yaml's actions: got %v, want %v", got, audit.Actions)
	}
}
