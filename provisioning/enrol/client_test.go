package enrol_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/store"
)

// TestClientEnrols: against a real switchboard, the device asks, shows its code, an
// admin approves it, and the next poll brings the certificate the device keeps.
func TestClientEnrols(t *testing.T) {
	st := store.NewMemory()
	hash, _ := switchboard.HashPassword("admin password 1", bcrypt.MinCost)
	st.CreateClinician(&store.Clinician{Username: "admin", Name: "Admin", Admin: true, PasswordHash: hash})
	clinic := store.Clinic{Name: "Riverside"}
	st.CreateClinic(&clinic)
	ca, _, err := deviceca.Open(t.TempDir(), "test devices", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost}, switchboard.Deps{Store: st, CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })

	id, _, _ := identity.LoadOrCreate(t.TempDir())
	clock := clockwork.NewFakeClockAt(time.Now())
	c := &enrol.Client{BaseURL: ts.URL, Key: id.Signer().(ed25519.PrivateKey), Clock: clock}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	codes := make(chan enrol.Status, 4)
	done := make(chan error, 1)
	var approved enrol.Status
	go func() {
		var err error
		approved, err = c.Enrol(ctx, enrol.Request{Name: "library-booth-4", Version: "1.0"}, func(s enrol.Status) { codes <- s })
		done <- err
	}()
	shown := <-codes
	if shown.CAFingerprint != ca.Fingerprint() || shown.Code == "" {
		t.Fatalf("shown: got %+v, want a code and the CA's fingerprint", shown)
	}

	anon, _ := apiclient.New(ts.URL, "", ts.Client())
	login, err := anon.Login(ctx, "admin", "admin password 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.WithToken(login.Token).ApproveEnrolment(ctx, enrol.Approval{Code: shown.Code, Site: clinic.ID, Room: "Room 4", Role: device.RoleBooth}); err != nil {
		t.Fatal(err)
	}
	clock.BlockUntilContext(ctx, 1) // the client waits to poll
	clock.Advance(shown.PollAfter)
	if err := <-done; err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	if approved.State != enrol.Approved || approved.Room != "Room 4" {
		t.Fatalf("approved: got %+v", approved)
	}
	if err := id.SaveCertificate(approved.Chain); err != nil {
		t.Fatalf("keep the certificate: %v", err)
	}
	if leaf, err := id.Certificate(); err != nil || leaf.Subject.CommonName != approved.DeviceID {
		t.Errorf("the kept certificate: got %v, %v, want it to name %s", leaf, err, approved.DeviceID)
	}

	// A switchboard without a device CA refuses for good: Enrol does not retry forever.
	srv2, _ := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost}, switchboard.Deps{Store: store.NewMemory()})
	ts2 := httptest.NewServer(srv2.Handler())
	t.Cleanup(func() { srv2.Close(); ts2.Close() })
	c2 := &enrol.Client{BaseURL: ts2.URL, Key: id.Signer().(ed25519.PrivateKey)}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_, err = c2.Ask(ctx2, enrol.Request{Name: "x", Version: "1"})
	var se *enrol.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable {
		t.Errorf("no device CA: got %v, want a 503 refusal", err)
	}
}
