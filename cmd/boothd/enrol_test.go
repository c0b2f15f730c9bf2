package main

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/store"
)

// TestEnrolsByActivationCode: a boothd with no token file, pointed at a switchboard on
// TLS, asks for a code, IT approves it, and the booth then connects with its certificate;
// a restart connects again without asking.
func TestEnrolsByActivationCode(t *testing.T) {
	st := store.NewMemory()
	hash, _ := switchboard.HashPassword("admin password 1", bcrypt.MinCost)
	st.CreateClinician(&store.Clinician{Username: "admin", Name: "Admin", Admin: true, PasswordHash: hash})
	clinic := store.Clinic{Name: "Riverside"}
	st.CreateClinic(&clinic)
	ca, _, err := deviceca.Open(t.TempDir(), "site devices", nil)
	if err != nil {
		t.Fatal(err)
	}
	der, key, _ := ca.IssueServer([]string{"127.0.0.1"})
	srv, err := switchboard.New(switchboard.Config{BcryptCost: bcrypt.MinCost, TLSCertificate: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}},
		switchboard.Deps{Store: st, CA: ca})
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
	base := "https://" + ln.Addr().String()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "boothd.toml")
	os.WriteFile(cfgPath, []byte(`
[switchboard]
url = "`+base+`"
[device]
name = "library-booth-9"
[state]
dir = "`+filepath.Join(dir, "state")+`"
[media]
video = "test"
audio = "test"
[screen]
backend = "off"
[metrics]
listen = "127.0.0.1:0"
[log]
level = "error"
`), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()

	anon, _ := apiclient.New(base, "", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}})
	login, err := anon.Login(ctx, "admin", "admin password 1")
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)
	var code string
	for code == "" {
		ps, err := admin.Enrolments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 1 && ps[0].Name == "library-booth-9" {
			code = ps[0].Code
		}
		select {
		case err := <-done:
			t.Fatalf("boothd ended before asking to enrol: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	d, err := admin.ApproveEnrolment(ctx, enrol.Approval{Code: code, Site: clinic.ID, Room: "Room 9", Role: device.RoleBooth})
	if err != nil {
		t.Fatal(err)
	}
	// The booth's next poll brings its certificate; it then connects with it, which the
	// switchboard records as the device being seen.
	waitSeen := func() {
		t.Helper()
		for {
			got, err := st.Device(d.ID)
			if err == nil && !got.LastSeen.IsZero() {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("boothd ended before connecting with its certificate: %v", err)
			case <-ctx.Done():
				t.Fatal("the enrolled booth never connected with its certificate")
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitSeen()
	for _, f := range []string{identity.CertFile, caFile} {
		if _, err := os.Stat(filepath.Join(dir, "state", f)); err != nil {
			t.Errorf("state: %v", err)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("boothd: %v", err)
	}

	// A restart dials with the kept certificate: nothing new waits for approval.
	st.TouchDevice(d.ID, time.Time{})
	rctx, stop = context.WithCancel(ctx)
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()
	waitSeen()
	if ps, _ := admin.Enrolments(ctx); len(ps) != 0 {
		t.Errorf("after a restart: %d devices waiting, want none", len(ps))
	}
	stop()
	<-done
}
