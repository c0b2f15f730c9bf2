package switchboard

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/switchboard/store"
)

func TestSeedDemo(t *testing.T) {
	st := store.NewMemory()
	clock := clockwork.NewFakeClockAt(t0)
	dir := t.TempDir()
	ctx := context.Background()
	first, err := SeedDemo(ctx, st, clock, dir, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if first.AppointmentStart != t0.Add(2*time.Minute) || first.ClinicianPassword == "" || first.AdminPassword == "" {
		t.Errorf("first seed: got %+v", first)
	}
	for _, f := range []string{"admin.password", "dr.patel.password", "booth.token"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: got mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	clock.Advance(time.Minute)
	again, err := SeedDemo(ctx, st, clock, dir, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("second seed: got %+v, want the same as %+v", again, first)
	}

	// The printed credentials work.
	srv, err := New(Config{BcryptCost: bcrypt.MinCost}, Deps{Store: st, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e := &env{t: t, st: st, srv: srv}
	e.ts = newTestServer(t, srv)
	if code, body := e.do("POST", "/api/v1/login", "", map[string]string{"username": DemoClinician, "password": first.ClinicianPassword}); code != http.StatusOK {
		t.Errorf("login with the demo password: got %d %s", code, body)
	}
	oldTok, err := readSecret(first.DeviceTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := e.do("GET", "/api/v1/me", oldTok, nil); code != http.StatusOK {
		t.Errorf("booth token: got %d, want 200", code)
	}

	// A lost token file means a new token; the old one stops working. The appointment
	// started a minute ago (past, not upcoming), so a new one is booked.
	os.Remove(first.DeviceTokenFile)
	clock.Advance(2 * time.Minute)
	third, err := SeedDemo(ctx, st, clock, dir, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	newTok, _ := readSecret(third.DeviceTokenFile)
	if newTok == oldTok || third.DeviceID != first.DeviceID {
		t.Errorf("after losing the token file: got token changed=%v, device %s (was %s)", newTok != oldTok, third.DeviceID, first.DeviceID)
	}
	if code, _ := e.do("GET", "/api/v1/me", oldTok, nil); code != http.StatusUnauthorized {
		t.Errorf("old booth token: got %d, want 401", code)
	}
	if third.AppointmentID == first.AppointmentID {
		t.Errorf("a new appointment should be booked once the first has started")
	}
	if d := first.Describe("http://localhost:8080"); len(d) == 0 {
		t.Error("Describe is empty")
	}
}
