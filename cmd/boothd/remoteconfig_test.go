package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/provisioning/remoteconfig"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/store"
)

// TestRemoteConfigEndToEnd runs boothd against a real switchboard: a bad document is
// refused by the switchboard and reaches nothing; a good one makes boothd restart (run
// returns ErrRestart, which main turns into a re-exec; the test calls run again), commit
// once welcomed and report its version to the fleet view; one that points the booth at an
// unreachable switchboard is rolled back when the trial runs out, and the reason reaches
// the fleet view on the next connection.
func TestRemoteConfigEndToEnd(t *testing.T) {
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
	anon, _ := apiclient.New(base, "", &http.Client{Timeout: 10 * time.Second})
	login, err := anon.Login(ctx, demo.AdminUser, demo.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)

	done := make(chan error, 1)
	stop := func() {}
	start := func() {
		var rctx context.Context
		rctx, stop = context.WithCancel(ctx)
		go func() {
			done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false", "-remote-config-trial", "3s"})
		}()
	}
	wantRestart := func() {
		t.Helper()
		select {
		case err := <-done:
			if !errors.Is(err, remoteconfig.ErrRestart) {
				t.Fatalf("run: got %v, want ErrRestart", err)
			}
		case <-ctx.Done():
			t.Fatal("boothd did not restart for the new config")
		}
	}
	view := func(what string, ok func(apiclient.Device) bool) apiclient.Device {
		t.Helper()
		for {
			ds, err := admin.Devices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.ID == demo.DeviceID && ok(d) {
					return d
				}
			}
			select {
			case err := <-done:
				t.Fatalf("%s: boothd ended: %v", what, err)
			case <-ctx.Done():
				t.Fatalf("%s: never shown; devices %+v", what, ds)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	scope := "device/" + demo.DeviceID
	start()
	view("connected", func(d apiclient.Device) bool { return d.LastSeen != nil })

	// A bad document is refused at the switchboard: nothing is pushed.
	if _, err := admin.PutConfig(ctx, scope, "[speaker]\nvolume = 40\n"); err == nil || !strings.Contains(err.Error(), "speaker.volume = 40") {
		t.Fatalf("bad document: got %v, want a refusal naming speaker.volume", err)
	}
	if ps, _ := st.Pushes(demo.DeviceID); len(ps) != 0 {
		t.Errorf("after a refused document: %d pushes queued, want none", len(ps))
	}

	// A good one: restart, trial, commit, applied.
	if _, err := admin.PutConfig(ctx, scope, "[speaker]\nvolume = 4\n[log]\nlevel = \"warn\"\n"); err != nil {
		t.Fatal(err)
	}
	wantRestart()
	start()
	if d := view("applied", func(d apiclient.Device) bool { return d.ConfigVersion == 1 }); d.ConfigError != "" {
		t.Errorf("applied: got error %q, want none", d.ConfigError)
	}

	// An unreachable switchboard: rolled back when the trial runs out, reported after.
	bad := "http://127.0.0.1:1"
	if _, err := admin.PutConfig(ctx, scope, "[switchboard]\nurl = \""+bad+"\"\n"); err != nil {
		t.Fatal(err)
	}
	wantRestart()
	start() // on trial, dialling nowhere
	wantRestart()
	start() // rolled back to version 1
	d := view("rollback", func(d apiclient.Device) bool { return d.ConfigError != "" })
	if want := "rolled back version 2: could not reach the switchboard at " + bad + " within 3s"; d.ConfigVersion != 1 || d.ConfigError != want {
		t.Errorf("rolled back: got version %d error %q, want 1 and %q", d.ConfigVersion, d.ConfigError, want)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("boothd: %v", err)
	}
}
