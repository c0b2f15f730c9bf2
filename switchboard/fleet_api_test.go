package switchboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/hub"
)

// getDevice fetches GET /api/v1/devices/{id} and decodes it.
func (e *env) getDevice(tok, id string) (int, api.Device) {
	e.t.Helper()
	code, body := e.do("GET", "/api/v1/devices/"+id, tok, nil)
	var d api.DeviceDetail
	if code == http.StatusOK {
		must(e.t, json.Unmarshal(body, &d))
	}
	return code, d.Device
}

// TestFleetHealth: a booth's heartbeat shows in the device API and the fleet metrics,
// clinicians see only their clinic's, and the booth goes offline after 90 s of silence.
func TestFleetHealth(t *testing.T) {
	e := newEnv(t)
	booth := e.hello(e.boothTok, signalling.RoleDevice)
	temp, disk := 52.5, int64(8<<30)
	booth.send(signalling.TypeHeartbeat, &signalling.Heartbeat{Version: "1.2.3", UptimeSeconds: 300, State: signalling.StateIdle,
		Camera: true, Microphone: true, TempCelsius: &temp, DiskFreeBytes: &disk, ConfigVersion: "7"})

	var got api.Device
	for deadline := time.Now().Add(5 * time.Second); got.Health == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the heartbeat never showed in GET /api/v1/devices/{id}")
		}
		var code int
		if code, got = e.getDevice(e.docTok, e.booth.ID); code != http.StatusOK {
			t.Fatalf("GET device as its clinic's clinician: got %d, want 200", code)
		}
	}
	hb := got.Health.Heartbeat
	if !got.Online || hb.Version != "1.2.3" || hb.State != signalling.StateIdle || !hb.Camera || !hb.Microphone || hb.Speaker ||
		*hb.TempCelsius != temp || *hb.DiskFreeBytes != disk || hb.ConfigVersion != "7" {
		t.Fatalf("got %+v online %v, want the heartbeat sent, online", hb, got.Online)
	}

	for _, tc := range []struct {
		name, tok, id string
		want          int
	}{
		{"another clinic's clinician", e.otherDocTok, e.booth.ID, http.StatusNotFound},
		{"a device", e.boothTok, e.booth.ID, http.StatusForbidden},
		{"no such device", e.adminTok, "nope", http.StatusNotFound},
		{"site admin, another site's", e.adminTok, e.otherBooth.ID, http.StatusNotFound},
		{"fleet admin", e.fleetTok, e.otherBooth.ID, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := e.getDevice(tc.tok, tc.id); code != tc.want {
				t.Fatalf("got %d, want %d", code, tc.want)
			}
		})
	}

	_, body := e.do("GET", "/api/v1/devices", e.adminTok, nil)
	var list api.Devices
	must(t, json.Unmarshal(body, &list))
	for _, d := range list.Devices {
		wantOnline := d.ID == e.booth.ID
		if d.Online != wantOnline || (d.Health != nil) != wantOnline {
			t.Fatalf("list: device %s online %v health %v, want online and health %v", d.Name, d.Online, d.Health != nil, wantOnline)
		}
	}

	metricsHave := func(lines ...string) {
		t.Helper()
		_, body := e.do("GET", "/metrics", testMetricsToken, nil)
		for _, l := range lines {
			if !strings.Contains(string(body), l+"\n") {
				t.Errorf("/metrics: no line %q", l)
			}
		}
	}
	metricsHave(`carebooth_devices{state="idle"} 1`, `carebooth_devices{state="offline"} 0`,
		`carebooth_devices_by_version{version="1.2.3"} 1`, `carebooth_devices_online 1`,
		`carebooth_switchboard_heartbeats_total 1`)

	e.clock.Advance(hub.OfflineAfter)
	if _, got = e.getDevice(e.docTok, e.booth.ID); got.Online || got.Health == nil {
		t.Fatalf("after %v without a heartbeat: got online %v, health %v; want offline with the last health", hub.OfflineAfter, got.Online, got.Health != nil)
	}
	metricsHave(`carebooth_devices{state="idle"} 0`, `carebooth_devices{state="offline"} 1`, `carebooth_devices_online 0`)
}

// TestHeartbeatRefusals: only devices send heartbeats, bad fields are refused with an
// error naming them, and a heartbeat cannot name another device.
func TestHeartbeatRefusals(t *testing.T) {
	e := newEnv(t)
	doc := e.hello(e.docTok, signalling.RoleClinician)
	doc.send(signalling.TypeHeartbeat, &signalling.Heartbeat{Version: "1", State: signalling.StateIdle})
	doc.expectError(signalling.CodeForbidden, 2)

	booth := e.hello(e.boothTok, signalling.RoleDevice)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"another device", `{"version":"1","state":"idle","device_id":"` + e.otherBooth.ID + `"}`, "device_id"},
		{"oversized last_error", `{"version":"1","state":"idle","last_error":"` + strings.Repeat("x", 600) + `"}`, "last_error"},
		{"bad state", `{"version":"1","state":"dancing"}`, "state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			booth.sendRaw(`{"v":1,"type":"heartbeat","seq":50,"body":` + tc.body + `}`)
			m := expect[signalling.Error](booth, signalling.TypeError)
			if m.Code != signalling.CodeBadMessage || !strings.Contains(m.Message, tc.want) {
				t.Fatalf("got %s %q, want %s naming %s", m.Code, m.Message, signalling.CodeBadMessage, tc.want)
			}
		})
	}
	if h, ok := e.srv.hub.DeviceHealth(e.otherBooth.ID); ok {
		t.Fatalf("the other booth: got health %+v, want none", h)
	}
}
