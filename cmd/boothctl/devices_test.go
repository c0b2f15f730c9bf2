package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
)

// heartbeatAs connects to the test switchboard as the device with tok and sends hb, then
// waits until the switchboard shows it.
func heartbeatAs(t *testing.T, tok string, hb *signalling.Heartbeat, shown func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(testServerURL, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("dial as the device: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	c := signalling.NewConn(ws)
	if err := c.Send(ctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice, Agent: "boothd test"}); err != nil {
		t.Fatal(err)
	}
	go func() { // read what the switchboard sends, so its writes do not block
		for {
			if _, _, err := c.Recv(ctx); err != nil && !errors.Is(err, signalling.ErrProtocol) {
				return
			}
		}
	}()
	if err := c.Send(ctx, signalling.TypeHeartbeat, hb); err != nil {
		t.Fatal(err)
	}
	for !shown() {
		if ctx.Err() != nil {
			t.Fatal("the heartbeat never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDevicesListAndShowHealth: devices list shows a booth's health in its table and
// show prints every field, both also as JSON.
func TestDevicesListAndShowHealth(t *testing.T) {
	_, boothctl := withSwitchboard(t, nil)
	if _, err := boothctl("admin password 1\n", "login"); err != nil {
		t.Fatal(err)
	}
	out, err := boothctl("", "clinics", "add", "-name", "Riverside")
	if err != nil {
		t.Fatal(err)
	}
	clinic := regexp.MustCompile(`created: (\S+)`).FindStringSubmatch(out)[1]
	out, err = boothctl("", "devices", "add", "-name", "library-booth-1", "-clinic", clinic)
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`created: (\S+)`).FindStringSubmatch(out)[1]
	tok := regexp.MustCompile(`cbd_\S+`).FindString(out)

	if out, _ := boothctl("", "devices", "list"); !strings.Contains(out, "never") {
		t.Fatalf("devices list before a heartbeat: got %q, want never seen", out)
	}
	temp, disk := 61.25, int64(3<<30)
	heartbeatAs(t, tok, &signalling.Heartbeat{Version: "2.0.1", State: signalling.StateInCall, UptimeSeconds: 3600,
		Camera: true, Microphone: true, TempCelsius: &temp, DiskFreeBytes: &disk, ConfigVersion: "cfg-9", LastError: "speaker: not found"},
		func() bool { out, _ := boothctl("", "devices", "list"); return strings.Contains(out, "2.0.1") })

	out, _ = boothctl("", "devices", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("devices list: got %q, want a header and one row", out)
	}
	for _, want := range []string{"library-booth-1", shortID(id), "in_call", "online", "2.0.1", "yes/yes/no", "61.2°C", "3.0 GiB"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("devices list row: got %q, want %q in it", lines[1], want)
		}
	}
	out, _ = boothctl("", "devices", "list", "--json")
	var ds []api.Device
	if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) != 1 || ds[0].Health == nil || ds[0].Health.Heartbeat.Version != "2.0.1" {
		t.Fatalf("devices list --json: got %q, %v, want the device with its health", out, err)
	}

	out, err = boothctl("", "devices", "show", id)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"id:                " + id, "state:             in_call", "config version:    cfg-9", "uptime:            1h0m0s",
		"speaker:           no", "last error:        speaker: not found", "temperature:       61.2°C"} {
		if !strings.Contains(out, want) {
			t.Errorf("devices show: got %q, want %q in it", out, want)
		}
	}
	out, _ = boothctl("", "devices", "show", id, "--json")
	var d api.Device
	if err := json.Unmarshal([]byte(out), &d); err != nil || !d.Online || d.Health.Heartbeat.ConfigVersion != "cfg-9" {
		t.Fatalf("devices show --json: got %q, %v", out, err)
	}
	if _, err := boothctl("", "devices", "show", "nope"); err == nil || !strings.Contains(err.Error(), "no device") {
		t.Errorf("devices show of an unknown ID: got %v, want no device", err)
	}
}
