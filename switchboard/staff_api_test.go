package switchboard

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
)

func ackPath(id string) string { return "/api/v1/devices/" + id + "/help/acknowledge" }

// TestAcknowledgeHelp: a clinician's "I'm coming" reaches the booth and the clinic's
// clinicians by name, is audited, and the first to say it is the one recorded.
func TestAcknowledgeHelp(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	booth.send(signalling.TypeHelp, &signalling.Help{Requested: true})
	expect[signalling.Help](doc, signalling.TypeHelp)
	expect[signalling.Help](booth, signalling.TypeHelp)

	code, body := e.do("POST", ackPath(e.booth.ID), e.docTok, nil)
	var got api.HelpAcknowledged
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Device != e.booth.ID || got.Help.AcknowledgedBy != "Dr Patel" {
		t.Fatalf("acknowledge: got %d %s, want 200 acknowledged by Dr Patel", code, body)
	}
	if m := expect[signalling.Help](booth, signalling.TypeHelp); !m.Requested || m.AcknowledgedBy != "Dr Patel" {
		t.Errorf("booth: got %+v, want help standing, acknowledged by Dr Patel", m)
	}
	if m := expect[signalling.Help](doc, signalling.TypeHelp); m.DeviceID != e.booth.ID || m.AcknowledgedBy != "Dr Patel" {
		t.Errorf("clinician: got %+v, want %s's help acknowledged by Dr Patel", m, e.booth.ID)
	}
	code, body = e.do("POST", ackPath(e.booth.ID), e.adminTok, nil)
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Help.AcknowledgedBy != "Dr Patel" {
		t.Errorf("acknowledge again: got %d %s, want 200, still Dr Patel's", code, body)
	}
	_, log, _ := e.auditLog(e.adminTok, "?action=help_acknowledge")
	if len(log.Entries) != 1 || log.Entries[0].Target != e.booth.ID || log.Entries[0].Actor != "dr.patel" {
		t.Errorf("audit: got %+v, want one help_acknowledge of %s by dr.patel", log.Entries, e.booth.ID)
	}
	if log.Entries[0].Action != audit.HelpAcknowledge {
		t.Errorf("audit action: got %s, want %s", log.Entries[0].Action, audit.HelpAcknowledge)
	}
}

// TestAcknowledgeHelpRefused: no credentials 401, a device 403, another site's device (or
// one that does not exist) 404, and a device with no help request standing 409.
func TestAcknowledgeHelpRefused(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	otherDoc := e.hello(e.otherDocTok, signalling.RoleClinician)
	otherBooth := e.hello(e.otherBoothTok, signalling.RoleDevice)
	otherBooth.send(signalling.TypeHelp, &signalling.Help{Requested: true})
	expect[signalling.Help](otherDoc, signalling.TypeHelp)
	for _, tc := range []struct {
		name, id, tok string
		want          int
		code          string
	}{
		{"no credentials", e.otherBooth.ID, "", 401, api.CodeUnauthorized},
		{"a device", e.otherBooth.ID, e.otherBoothTok, 403, api.CodeForbidden},
		{"another site's device", e.otherBooth.ID, e.docTok, 404, api.CodeNotFound},
		{"another site's admin", e.otherBooth.ID, e.adminTok, 404, api.CodeNotFound},
		{"no such device", "nope", e.docTok, 404, api.CodeNotFound},
		{"no help standing", e.booth.ID, e.docTok, 409, api.CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do("POST", ackPath(tc.id), tc.tok, nil)
			if code != tc.want || errorOf(t, body).Code != tc.code {
				t.Errorf("got %d %s, want %d %s", code, body, tc.want, tc.code)
			}
		})
	}
	// Help over: 409 again.
	booth.send(signalling.TypeHelp, &signalling.Help{Requested: true})
	expect[signalling.Help](doc, signalling.TypeHelp)
	booth.send(signalling.TypeHelp, &signalling.Help{Requested: false})
	expect[signalling.Help](doc, signalling.TypeHelp)
	if code, body := e.do("POST", ackPath(e.booth.ID), e.docTok, nil); code != http.StatusConflict {
		t.Errorf("after help is over: got %d %s, want 409", code, body)
	}
	// The fleet admin sees every site.
	if code, body := e.do("POST", ackPath(e.otherBooth.ID), e.fleetTok, nil); code != http.StatusOK {
		t.Errorf("fleet admin: got %d %s, want 200", code, body)
	}
}

func staffIDs(v *signalling.Devices) map[string]signalling.BoothState {
	out := map[string]signalling.BoothState{}
	for _, d := range v.Devices {
		out[d.ID] = d.State
	}
	return out
}

// TestStaffDevices: the view lists the clinician's own site's devices only, with their
// state; a fleet admin's lists every site's. Devices and no credentials are refused.
func TestStaffDevices(t *testing.T) {
	e := newEnv(t)
	e.hello(e.boothTok, signalling.RoleDevice)
	view := func(tok string) map[string]signalling.BoothState {
		t.Helper()
		code, body := e.do("GET", "/api/v1/staff/devices", tok, nil)
		var v api.StaffView
		if code != http.StatusOK || json.Unmarshal(body, &v) != nil {
			t.Fatalf("got %d %s, want 200 and a view", code, body)
		}
		return staffIDs(&v)
	}
	if got := view(e.docTok); len(got) != 1 || got[e.booth.ID] != signalling.StateIdle {
		t.Errorf("site staff: got %v, want only %s, idle", got, e.booth.ID)
	}
	if got := view(e.otherDocTok); len(got) != 1 || got[e.otherBooth.ID] != signalling.StateOffline {
		t.Errorf("other site's staff: got %v, want only %s, offline", got, e.otherBooth.ID)
	}
	if got := view(e.fleetTok); len(got) != 2 {
		t.Errorf("fleet admin: got %v, want both sites' devices", got)
	}
	if code, _ := e.do("GET", "/api/v1/staff/devices", "", nil); code != http.StatusUnauthorized {
		t.Errorf("no credentials: got %d, want 401", code)
	}
	if code, _ := e.do("GET", "/api/v1/staff/devices", e.boothTok, nil); code != http.StatusForbidden {
		t.Errorf("a device: got %d, want 403", code)
	}
}

// TestStaffStationStream: a clinician's signalling connection whose hello sets staff is
// sent its site's view (never another site's devices), and again when a booth presses
// Help; a device cannot ask for it.
func TestStaffStationStream(t *testing.T) {
	e := newEnv(t)
	staff := e.dial(e.docTok)
	staff.send(signalling.TypeHello, &signalling.Hello{Role: signalling.RoleClinician, Agent: "test", Staff: true})
	expect[signalling.Welcome](staff, signalling.TypeWelcome)
	expect[signalling.Queue](staff, signalling.TypeQueue)
	v := expect[signalling.Devices](staff, signalling.TypeDevices)
	if got := staffIDs(v); len(got) != 1 || got[e.booth.ID] != signalling.StateOffline {
		t.Fatalf("first view: got %v, want only %s, offline", got, e.booth.ID)
	}
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	if got := staffIDs(expect[signalling.Devices](staff, signalling.TypeDevices)); got[e.booth.ID] != signalling.StateIdle {
		t.Fatalf("booth connected: got %v, want it idle", got)
	}
	e.hello(e.otherBoothTok, signalling.RoleDevice) // another site's: nothing changes here
	booth.send(signalling.TypeHelp, &signalling.Help{Requested: true})
	expect[signalling.Help](staff, signalling.TypeHelp)
	v = expect[signalling.Devices](staff, signalling.TypeDevices)
	if got := staffIDs(v); len(got) != 1 || got[e.booth.ID] != signalling.StateHelp || v.Devices[0].Help == nil {
		t.Fatalf("help pressed: got %+v, want only %s, help standing", v.Devices, e.booth.ID)
	}

	dev := e.dial(e.boothTok)
	dev.sendRaw(`{"v":1,"type":"hello","seq":1,"body":{"role":"device","staff":true}}`)
	if m := expect[signalling.Error](dev, signalling.TypeError); m.Code != signalling.CodeBadMessage {
		t.Errorf("a device asking for the staff view: got %s, want %s", m.Code, signalling.CodeBadMessage)
	}
}
