package switchboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/store"
)

func TestConfigPutRefusesBadDocuments(t *testing.T) {
	e := newEnv(t)
	fleetTok := e.addClinician("fleet", "Fleet admin", "", true).tok
	tests := []struct {
		name, scope, doc string
		status           int
		field, mention   string
	}{
		{"unknown key", "site/" + e.clinic.ID, "[speaker]\nvolum = 6\n", 400, "document", "key speaker.volum cannot be set"},
		{"credential path", "site/" + e.clinic.ID, "[switchboard]\ntoken_file = \"/x\"\n", 400, "document", "switchboard.token_file"},
		{"bad value", "site/" + e.clinic.ID, "[speaker]\nvolume = 0\n", 400, "document", "speaker.volume = 0"},
		{"syntax", "site/" + e.clinic.ID, "[speaker\n", 400, "document", "line 2"},
		{"bad scope", "planet/earth", "", 400, "scope", "unknown kind"},
		{"unknown site", "site/nope", "", 400, "scope", "no clinic has ID"},
		{"unknown device", "device/nope", "", 404, "", "no device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.do("PUT", "/api/v1/config", fleetTok, api.ConfigPut{Scope: tt.scope, Document: tt.doc})
			if code != tt.status || !strings.Contains(string(body), tt.mention) || (tt.field != "" && errorOf(t, body).Field != tt.field) {
				t.Fatalf("got %d %s, want %d naming %s %q", code, body, tt.status, tt.field, tt.mention)
			}
			if sc, err := store.ParseConfigScope(tt.scope); err == nil {
				if _, err := e.st.ConfigDoc(sc); err == nil {
					t.Errorf("a refused document was stored for %s", sc)
				}
			}
			if ps, _ := e.st.Pushes(e.booth.ID); len(ps) != 0 {
				t.Errorf("a refused document was pushed: %+v", ps)
			}
		})
	}
}

func TestConfigPutWhoMay(t *testing.T) {
	e := newEnv(t)
	fleetTok := e.addClinician("fleet", "Fleet admin", "", true).tok
	doc := "[log]\nlevel = \"warn\"\n"
	tests := []struct {
		name, tok, scope string
		want             int
	}{
		{"site admin, fleet", e.adminTok, "fleet", http.StatusForbidden},
		{"site admin, other site", e.adminTok, "site/" + e.otherClinic.ID, http.StatusForbidden},
		{"site admin, other site's room", e.adminTok, "room/" + e.otherClinic.ID + "/Room 1", http.StatusForbidden},
		{"site admin, other site's device", e.adminTok, "device/" + e.otherBooth.ID, http.StatusNotFound},
		{"clinician", e.docTok, "site/" + e.clinic.ID, http.StatusForbidden},
		{"site admin, own site", e.adminTok, "site/" + e.clinic.ID, http.StatusOK},
		{"site admin, own device", e.adminTok, "device/" + e.booth.ID, http.StatusOK},
		{"fleet admin, fleet", fleetTok, "fleet", http.StatusOK},
		{"fleet admin, other site", fleetTok, "site/" + e.otherClinic.ID, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := e.do("PUT", "/api/v1/config", tt.tok, api.ConfigPut{Scope: tt.scope, Document: doc}); code != tt.want {
				t.Errorf("got %d %s, want %d", code, body, tt.want)
			}
		})
	}
}

// TestConfigPushAndReport: documents at several scopes merge into one push per device,
// queued while it is offline, replaced by a newer one, and its reports reach the fleet
// view.
func TestConfigPushAndReport(t *testing.T) {
	e := newEnv(t)
	fleetTok := e.addClinician("fleet", "Fleet admin", "", true).tok
	put := func(tok, scope, doc string) api.ConfigPushed {
		t.Helper()
		code, body := e.do("PUT", "/api/v1/config", tok, api.ConfigPut{Scope: scope, Document: doc})
		if code != http.StatusOK {
			t.Fatalf("put %s: got %d %s", scope, code, body)
		}
		var out api.ConfigPushed
		must(t, json.Unmarshal(body, &out))
		return out
	}
	fleet := put(fleetTok, "fleet", "[speaker]\nvolume = 5\n[log]\nlevel = \"warn\"\n")
	if len(fleet.Devices) != 2 || fleet.Config.Version != 1 {
		t.Fatalf("fleet put: got %+v, want both booths at version 1", fleet)
	}
	site := put(e.adminTok, "site/"+e.clinic.ID, "[speaker]\nvolume = 7\n")
	if len(site.Devices) != 1 || site.Devices[0].DeviceID != e.booth.ID || site.Devices[0].Version != 2 || site.Devices[0].SentNow {
		t.Fatalf("site put: got %+v, want only this site's booth, version 1+1, queued", site.Devices)
	}

	booth := e.hello(e.boothTok, signalling.RoleDevice)
	c := expect[signalling.Config](booth, signalling.TypeConfig)
	if c.Version != 2 || !strings.Contains(c.Document, "volume = 7") || !strings.Contains(c.Document, `level = "warn"`) {
		t.Fatalf("on connect: got %+v, want version 2, the site's volume over the fleet's, the fleet's log level", c)
	}
	if ps, _ := e.st.Pushes(e.booth.ID); len(ps) != 1 {
		t.Errorf("queue: got %d pushes, want 1 (the newer config replaces the older)", len(ps))
	}

	// Online: sent at once.
	dev := put(e.adminTok, "device/"+e.booth.ID, "[speaker]\nvolume = 9\n")
	if len(dev.Devices) != 1 || !dev.Devices[0].SentNow || dev.Devices[0].Version != 3 {
		t.Fatalf("device put: got %+v", dev.Devices)
	}
	live := expect[signalling.Config](booth, signalling.TypeConfig)
	if live.Version != 3 || !strings.Contains(live.Document, "volume = 9") {
		t.Fatalf("live: got %+v", live)
	}

	fleetView := func() api.Device {
		t.Helper()
		_, body := e.do("GET", "/api/v1/devices", e.adminTok, nil)
		var ds api.Devices
		must(t, json.Unmarshal(body, &ds))
		for _, d := range ds.Devices {
			if d.ID == e.booth.ID {
				return d
			}
		}
		t.Fatalf("booth not in %s", body)
		return api.Device{}
	}
	waitFor := func(what string, ok func(api.Device) bool) api.Device {
		t.Helper()
		var d api.Device
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if d = fleetView(); ok(d) {
				return d
			}
		}
		t.Fatalf("%s: got %+v", what, d)
		return d
	}

	booth.send(signalling.TypeConfigAck, &signalling.ConfigAck{Seq: live.Seq, Version: 3, Result: signalling.ConfigApplied})
	waitFor("applied", func(d api.Device) bool { return d.ConfigVersion == 3 && d.ConfigError == "" })
	if ps, _ := e.st.Pushes(e.booth.ID); len(ps) != 0 {
		t.Errorf("queue after the ack: got %+v, want empty", ps)
	}

	put(e.adminTok, "device/"+e.booth.ID, "[device]\njoin_mode = \"button\"\n")
	refused := expect[signalling.Config](booth, signalling.TypeConfig)
	booth.send(signalling.TypeConfigAck, &signalling.ConfigAck{Seq: refused.Seq, Version: refused.Version,
		Result: signalling.ConfigRefused, Reason: "buttons.join is required"})
	d := waitFor("refused", func(d api.Device) bool { return d.ConfigError != "" })
	if d.ConfigVersion != 3 || d.ConfigError != "refused version 4: buttons.join is required" {
		t.Errorf("refused: got version %d error %q, want still 3 and the reason", d.ConfigVersion, d.ConfigError)
	}

	if code, body := e.do("GET", "/api/v1/config?scope=device/"+e.booth.ID, e.adminTok, nil); code != http.StatusOK || !strings.Contains(string(body), `"version": 2`) {
		t.Errorf("show: got %d %s, want the device document at version 2", code, body)
	}
	if code, _ := e.do("GET", "/api/v1/config?scope=room/"+e.clinic.ID+"/Nowhere", e.adminTok, nil); code != http.StatusNotFound {
		t.Errorf("show missing: got %d, want 404", code)
	}
}

// A device created after documents were put gets its effective config on first contact.
func TestConfigQueuedForNewDevice(t *testing.T) {
	e := newEnv(t)
	if code, body := e.do("PUT", "/api/v1/config", e.adminTok, api.ConfigPut{Scope: "site/" + e.clinic.ID, Document: "[speaker]\nvolume = 3\n"}); code != http.StatusOK {
		t.Fatalf("put: got %d %s", code, body)
	}
	code, body := e.do("POST", "/api/v1/devices", e.adminTok, api.NewDevice{Name: "booth-new", ClinicID: e.clinic.ID})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %s", code, body)
	}
	// The put is in the audit log, under the admin's site, for the site's admins to see.
	if code, log, body := e.auditLog(e.adminTok, "?action=config_put"); code != http.StatusOK || len(log.Entries) != 1 ||
		log.Entries[0].ClinicID != e.clinic.ID || log.Entries[0].Target != "site/"+e.clinic.ID || !strings.Contains(log.Entries[0].Detail, "speaker.volume") {
		t.Errorf("audit of the put: got %d %+v (%s), want one config_put for site/%s naming speaker.volume", code, log.Entries, body, e.clinic.ID)
	}
	var created api.DeviceCreated
	must(t, json.Unmarshal(body, &created))
	ps, _ := e.st.Pushes(created.Device.ID)
	if len(ps) != 1 || ps[0].Type != store.PushConfig || !strings.Contains(string(ps[0].Body), "volume = 3") {
		t.Errorf("new device's queue: got %+v, want its site's config", ps)
	}
	// A device in a site with no document gets nothing.
	code, body = e.do("POST", "/api/v1/devices", e.fleetTok, api.NewDevice{Name: "booth-other", ClinicID: e.otherClinic.ID})
	if code != http.StatusCreated {
		t.Fatalf("create: got %d %s", code, body)
	}
	must(t, json.Unmarshal(body, &created))
	if ps, _ := e.st.Pushes(created.Device.ID); len(ps) != 0 {
		t.Errorf("device with no documents: got %+v, want nothing queued", ps)
	}
}

// TestConfigClearedByAnEmptyDocument: an admin takes a scope's settings back by putting
// an empty document; the device's effective config loses those keys, and its version
// still rises so the device applies it.
func TestConfigClearedByAnEmptyDocument(t *testing.T) {
	e := newEnv(t)
	put := func(scope, doc string) api.ConfigPushed {
		t.Helper()
		code, body := e.do("PUT", "/api/v1/config", e.adminTok, api.ConfigPut{Scope: scope, Document: doc})
		if code != http.StatusOK {
			t.Fatalf("put %s: got %d %s", scope, code, body)
		}
		var out api.ConfigPushed
		must(t, json.Unmarshal(body, &out))
		return out
	}
	site, dev := "site/"+e.clinic.ID, "device/"+e.booth.ID
	put(site, "[speaker]\nvolume = 6\n")
	before := put(dev, "[speaker]\nvolume = 3\n")
	after := put(dev, "")
	if len(after.Devices) != 1 || after.Devices[0].Version <= before.Devices[0].Version {
		t.Fatalf("version after clearing: got %+v, want higher than %+v", after.Devices, before.Devices)
	}
	d, err := e.st.Device(e.booth.ID)
	must(t, err)
	cp, err := e.srv.effectiveConfig(&d)
	must(t, err)
	if !strings.Contains(cp.Document, "volume = 6") || strings.Contains(cp.Document, "volume = 3") {
		t.Fatalf("effective config after clearing the device's: got %q, want the site's volume 6 only", cp.Document)
	}
}
