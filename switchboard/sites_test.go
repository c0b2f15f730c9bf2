package switchboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/switchboard/api"
)

// TestSiteAdminSeesOnlyTheirSite: the admin of one site (an admin account with a clinic)
// gets 404 for another site's device or appointment named in the path, as for one that
// does not exist, and 403 for a change that names another site in its body or query; a
// fleet admin (no clinic) is let through.
func TestSiteAdminSeesOnlyTheirSite(t *testing.T) {
	e := newEnv(t)
	other, otherAppt, otherBooth := e.otherClinic.ID, e.otherAppt.ID, e.otherBooth.ID
	start := t0.Add(2 * time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		name, method, path, body string
		site, fleet              int // the site admin's status and the fleet admin's
	}{
		{"get an appointment", "GET", "/api/v1/appointments/" + otherAppt, "", 404, 200},
		{"its events", "GET", "/api/v1/appointments/" + otherAppt + "/events", "", 404, 200},
		{"record a no-show", "POST", "/api/v1/appointments/" + otherAppt + "/no-show", "", 404, 0},
		{"move to the telephone", "POST", "/api/v1/appointments/" + otherAppt + "/telephone", "", 404, 0},
		{"cancel an appointment", "DELETE", "/api/v1/appointments/" + otherAppt, "", 404, 200},
		{"change a device's settings", "PUT", "/api/v1/devices/" + otherBooth + "/settings", `{"join_mode":"button"}`, 404, 200},
		{"revoke a device", "POST", "/api/v1/devices/" + otherBooth + "/revoke", `{}`, 404, 200},
		{"book an appointment", "POST", "/api/v1/appointments",
			`{"clinic_id":"` + other + `","device_id":"` + otherBooth + `","patient":"P","start":"` + start + `","end":"` + t0.Add(150*time.Minute).Format(time.RFC3339) + `"}`, 403, 201},
		{"import a schedule", "POST", "/api/v1/appointments/import?clinic_id=" + other + "&dry_run=true", `{"resourceType":"Bundle","type":"collection","entry":[]}`, 403, 0},
		{"add a device", "POST", "/api/v1/devices", `{"name":"b9","clinic_id":"` + other + `"}`, 403, 201},
		{"add a clinician", "POST", "/api/v1/clinicians", `{"username":"dr.x","password":"` + testPassword + `","name":"X","clinic_id":"` + other + `"}`, 403, 201},
		{"add a clinic", "POST", "/api/v1/clinics", `{"name":"Lakeside"}`, 403, 201},
		{"see a report", "GET", "/api/v1/reports?clinic_id=" + other, "", 403, 200},
		{"approve into another site", "POST", "/api/v1/enrolments/approve", `{"code":"K7QM-4TZP","site":"` + other + `","room":"R"}`, 403, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := e.do(tc.method, tc.path, e.adminTok, tc.body); code != tc.site {
				t.Errorf("site admin: got %d %s, want %d", code, body, tc.site)
			}
			if tc.fleet == 0 {
				return
			}
			if code, body := e.do(tc.method, tc.path, e.fleetTok, tc.body); code != tc.fleet {
				t.Errorf("fleet admin: got %d %s, want %d", code, body, tc.fleet)
			}
		})
	}
}

// TestSiteAdminListsOnlyTheirSite: lists and the waiting room show a site admin only
// their own clinic's, whatever clinic_id they ask for; a fleet admin sees any.
func TestSiteAdminListsOnlyTheirSite(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, path string
		hidden     string // what the site admin must not see
	}{
		{"devices", "/api/v1/devices", e.otherBooth.ID},
		{"devices of another clinic", "/api/v1/devices?clinic_id=" + e.otherClinic.ID, e.otherBooth.ID},
		{"clinics", "/api/v1/clinics", e.otherClinic.ID},
		{"appointments of another clinic", "/api/v1/appointments?clinic_id=" + e.otherClinic.ID, e.otherAppt.ID},
		{"another clinic's waiting room", "/api/v1/waiting-room?clinic_id=" + e.otherClinic.ID, e.otherClinic.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do("GET", tc.path, e.adminTok, nil)
			if code != http.StatusOK || strings.Contains(string(body), tc.hidden) {
				t.Errorf("site admin: got %d %s, want 200 without %s", code, body, tc.hidden)
			}
			if code, body := e.do("GET", tc.path, e.fleetTok, nil); code != http.StatusOK || !strings.Contains(string(body), tc.hidden) {
				t.Errorf("fleet admin: got %d %s, want 200 with %s", code, body, tc.hidden)
			}
		})
	}
}

// TestSiteAdminCannotMakeAFleetAdmin: an admin a site admin adds belongs to their site,
// so it cannot see more than they do.
func TestSiteAdminCannotMakeAFleetAdmin(t *testing.T) {
	e := newEnv(t)
	code, body := e.do("POST", "/api/v1/clinicians", e.adminTok, `{"username":"it.new","password":"`+testPassword+`","name":"New IT","admin":true}`)
	var c api.Clinician
	if code != http.StatusCreated || json.Unmarshal(body, &c) != nil || c.ClinicID != e.clinic.ID || !c.Admin {
		t.Fatalf("got %d %s, want 201, an admin of clinic %s", code, body, e.clinic.ID)
	}
	// And the approval of a pending device into their own site still works.
	if code, body := e.approve(e.adminTok, enrol.Approval{Code: "K7QM-4TZP", Site: e.clinic.ID, Room: "R"}); code != http.StatusNotFound {
		t.Errorf("approve an unknown code into their own site: got %d %s, want 404 (past the site check)", code, body)
	}
}
