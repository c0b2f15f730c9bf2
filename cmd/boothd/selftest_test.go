package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/store"
)

// TestSelfTestAndLogsFromTheSwitchboard runs boothd against a real switchboard: an admin's
// self-test opens the test camera and microphone and reports every check, and the
// booth's recent log lines come back, the start-up line among them.
func TestSelfTestAndLogsFromTheSwitchboard(t *testing.T) {
	st := store.NewMemory()
	demo, err := switchboard.SeedDemo(context.Background(), st, clockwork.NewRealClock(), t.TempDir(), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost}, switchboard.Deps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() { scancel(); <-served }()
	base := "http://" + ln.Addr().String()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "boothd.toml")
	os.WriteFile(cfgPath, []byte(`
[switchboard]
url = "`+base+`"
token_file = "`+demo.DeviceTokenFile+`"
[state]
dir = "`+filepath.Join(dir, "state")+`"
[media]
video = "test"
audio = "test"
[speaker]
device = "off"
[screen]
backend = "off"
[metrics]
listen = "127.0.0.1:0"
[site]
listen = "127.0.0.1:0"
[discovery]
enabled = false
[log]
level = "error"
`), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	anon, _ := apiclient.New(base, "", &http.Client{Timeout: 40 * time.Second})
	login, err := anon.Login(ctx, demo.AdminUser, demo.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)

	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("boothd: %v", err)
		}
	}()
	// Wait for the booth's connection.
	for {
		res, err := admin.SelfTest(ctx, demo.DeviceID)
		if err != nil && strings.Contains(err.Error(), "not connected") {
			select {
			case err := <-done:
				t.Fatalf("boothd ended: %v", err)
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]string{}
		for _, c := range res.Checks {
			state := "ok"
			if !c.OK {
				state = "FAIL"
			}
			byName[c.Name] = state + " " + c.Detail
		}
		for name, want := range map[string]string{
			"switchboard": "ok answers this device's credentials",
			"camera":      "ok VideoTest, 640x480",
			"microphone":  "ok AudioTest, 48000 Hz",
			"speaker":     "ok off in the config",
			"screen":      "ok off in the config",
			"disk":        "MiB free in " + filepath.Join(dir, "state"),
		} {
			if !strings.Contains(byName[name], want) {
				t.Errorf("check %s: got %q, want %q", name, byName[name], want)
			}
		}
		if _, ok := byName["temperature"]; !ok {
			t.Errorf("no temperature check in %v", byName)
		}
		break
	}

	// log.level is error, but the ring keeps info and above: the start-up line is there.
	logs, err := admin.DeviceLogs(ctx, demo.DeviceID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, l := range logs.Lines {
		all = append(all, l.Text)
	}
	joined := strings.Join(all, "\n")
	if !strings.Contains(joined, `msg="boothd starting"`) || !strings.Contains(joined, "answered the switchboard") {
		t.Fatalf("logs: got %q, want the start-up line and the self-test's answer", joined)
	}
	if few, err := admin.DeviceLogs(ctx, demo.DeviceID, 2); err != nil || len(few.Lines) != 2 {
		t.Fatalf("2 lines: got %d, %v", len(few.Lines), err)
	}
}
