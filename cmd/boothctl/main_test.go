package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/store"
	"github.com/jonboulle/clockwork"
)

func TestBoothctl(t *testing.T) {
	cfg, boothctl := withSwitchboard(t, nil)

	if _, err := boothctl("", "clinics", "list"); err == nil || !strings.Contains(err.Error(), "boothctl login") {
		t.Errorf("before login: got %v, want advice to log in", err)
	}
	if _, err := boothctl("wrong password\n", "login"); err == nil {
		t.Error("login with a wrong password: got nil error")
	}
	out, err := boothctl("admin password 1\n", "login")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(cfg, "carebooth", "boothctl.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: got %v, %v, want mode 0600", fi, err)
	}

	idRE := regexp.MustCompile(`created: (\S+)`)
	out, err = boothctl("", "clinics", "add", "-name", "Riverside", "-phone", "0123")
	if err != nil {
		t.Fatal(err)
	}
	clinic := idRE.FindStringSubmatch(out)[1]
	if out, err := boothctl("", "clinics", "list"); err != nil || !strings.Contains(out, "Riverside") {
		t.Errorf("clinics list: got %q, %v", out, err)
	}
	if _, err := boothctl("long enough pw\n", "clinicians", "add", "-username", "dr.patel", "-name", "Dr Patel", "-clinic", clinic); err != nil {
		t.Fatal(err)
	}
	out, err = boothctl("", "devices", "add", "-name", "booth-1", "-clinic", clinic)
	if err != nil || !strings.Contains(out, "cbd_") {
		t.Fatalf("devices add: got %q, %v, want the token printed", out, err)
	}
	device := idRE.FindStringSubmatch(out)[1]
	if _, err := boothctl("", "devices", "add", "-name", "x", "-clinic", "nope"); err == nil || !strings.Contains(err.Error(), "-clinic") {
		t.Errorf("devices add with a bad clinic: got %v, want advice naming -clinic", err)
	}

	out, err = boothctl("", "appointments", "add", "-clinic", clinic, "-device", device, "-patient", "Kim", "-start", "2099-01-01T10:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	appt := regexp.MustCompile(`appointment (\S+) booked`).FindStringSubmatch(out)[1]
	out, err = boothctl("", "appointments", "list", "-clinic", clinic, "-from", "2099-01-01T00:00:00Z", "-to", "2099-01-02T00:00:00Z")
	if err != nil || !strings.Contains(out, appt) {
		t.Errorf("appointments list: got %q, %v", out, err)
	}
	if out, err := boothctl("", "appointments", "cancel", appt); err != nil || !strings.Contains(out, "cancelled") {
		t.Errorf("cancel: got %q, %v", out, err)
	}
	// Outcomes, history and a pushed join mode.
	book := func(day string) string {
		t.Helper()
		out, err := boothctl("", "appointments", "add", "-clinic", clinic, "-device", device, "-patient", "Lee", "-start", day+"T10:00:00Z")
		if err != nil {
			t.Fatal(err)
		}
		return regexp.MustCompile(`appointment (\S+) booked`).FindStringSubmatch(out)[1]
	}
	noShow, phoned := book("2099-01-02"), book("2099-01-03")
	if out, err := boothctl("", "appointments", "no-show", noShow); err != nil || !strings.Contains(out, "no_show") {
		t.Errorf("no-show: got %q, %v, want status no_show", out, err)
	}
	if out, err := boothctl("", "appointments", "telephone", phoned); err != nil || !strings.Contains(out, "telephone") {
		t.Errorf("telephone: got %q, %v, want status telephone", out, err)
	}
	if _, err := boothctl("", "appointments", "telephone", noShow); err == nil {
		t.Error("telephone after a no-show: got nil error, want the transition refused")
	}
	if out, err := boothctl("", "appointments", "history", noShow); err != nil || !strings.Contains(out, "no_show") || !strings.Contains(out, "clinician") {
		t.Errorf("history: got %q, %v, want the no_show event by a clinician", out, err)
	}
	if out, err := boothctl("", "devices", "join-mode", device, "button"); err != nil || !strings.Contains(out, "queued") {
		t.Errorf("join-mode for an offline booth: got %q, %v, want it queued", out, err)
	}
	if _, err := boothctl("", "devices", "join-mode", device, "sometimes"); err == nil {
		t.Error("join-mode sometimes: got nil error")
	}
	if out, err := boothctl("", "waiting-room"); err != nil || !strings.Contains(out, "empty") {
		t.Errorf("waiting-room: got %q, %v", out, err)
	}
	if _, err := boothctl("", "teleport"); err == nil {
		t.Error("unknown command: got nil error")
	}
	if _, err := boothctl("", "logout"); err != nil {
		t.Fatal(err)
	}
	if _, err := boothctl("", "me"); err == nil {
		t.Error("me after logout: got nil error")
	}
}

// testServerURL is the last withSwitchboard's URL, for tests that call the API directly.
var testServerURL string

// withSwitchboard starts an in-process switchboard on clock (nil: the real one) with an
// admin whose password is "admin password 1", and returns boothctl's config directory and
// a function that runs boothctl against it with stdin.
func withSwitchboard(t *testing.T, clock clockwork.Clock) (dir string, boothctl func(stdin string, args ...string) (string, error)) {
	t.Helper()
	st := store.NewMemory()
	hash, err := switchboard.HashPassword("admin password 1", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClinician(&store.Clinician{Username: "admin", Name: "Admin", Admin: true, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	ca, _, err := deviceca.Open(t.TempDir(), "test devices", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost}, switchboard.Deps{Store: st, Clock: clock, CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	testServerURL = ts.URL
	dir = t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": dir, "CAREBOOTH_SERVER": ts.URL, "USER": "admin"}
	return dir, func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &out, getenv: func(k string) string { return vars[k] }})
		return out.String(), err
	}
}
