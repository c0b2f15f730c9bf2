package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/media/prompt"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/store"
	"github.com/jonboulle/clockwork"
)

// tlsSwitchboard is a switchboard serving TLS with a certificate from its device CA, with
// an admin ("admin", "admin password 1") and one clinic.
type tlsSwitchboard struct {
	st     *store.Memory
	ca     *deviceca.CA
	base   string
	clinic store.Clinic
	srv    *switchboard.Server
	stop   func() // stops serving at base
}

// move serves the switchboard at a new address and stops serving at the old one (a new
// DHCP lease), returning the new base URL.
func (ts *tlsSwitchboard) move(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ts.srv.Serve(sctx, ln) }()
	t.Cleanup(func() { scancel(); <-served })
	ts.stop()
	ts.stop = func() {}
	ts.base = "https://" + ln.Addr().String()
	return ts.base
}

func newTLSSwitchboard(t *testing.T) tlsSwitchboard {
	t.Helper()
	return newTLSSwitchboardFor(t, "127.0.0.1")
}

// newTLSSwitchboardFor is newTLSSwitchboard with a serving certificate for host.
func newTLSSwitchboardFor(t *testing.T, host string) tlsSwitchboard {
	t.Helper()
	st := store.NewMemory()
	hash, _ := switchboard.HashPassword("admin password 1", bcrypt.MinCost)
	st.CreateClinician(&store.Clinician{Username: "admin", Name: "Admin", Admin: true, PasswordHash: hash})
	clinic := store.Clinic{Name: "Riverside"}
	st.CreateClinic(&clinic)
	ca, _, err := deviceca.Open(t.TempDir(), "site devices", nil)
	if err != nil {
		t.Fatal(err)
	}
	der, key, _ := ca.IssueServer([]string{host})
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
	var once sync.Once
	stop := func() { once.Do(func() { scancel(); <-served }) }
	t.Cleanup(stop)
	return tlsSwitchboard{st: st, ca: ca, base: "https://" + ln.Addr().String(), clinic: clinic, srv: srv, stop: stop}
}

// enrolConfig writes a boothd config for a booth with no token at base, pinning pin
// when it is not "", and returns its path.
func enrolConfig(t *testing.T, dir, base, pin string) string {
	t.Helper()
	pinLine := ""
	if pin != "" {
		pinLine = "ca_fingerprint = \"" + pin + "\"\n"
	}
	cfgPath := filepath.Join(dir, "boothd.toml")
	if err := os.WriteFile(cfgPath, []byte(`
[switchboard]
url = "`+base+`"
`+pinLine+`
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
[site]
listen = "127.0.0.1:0"
[discovery]
enabled = false
[log]
level = "error"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// TestEnrolsByActivationCode: a boothd with no token file, pointed at a switchboard on
// TLS, asks for a code, IT approves it, and the booth then connects with its certificate;
// a restart connects again without asking.
func TestEnrolsByActivationCode(t *testing.T) {
	ts := newTLSSwitchboard(t)
	st, ca, base, clinic := ts.st, ts.ca, ts.base, ts.clinic
	dir := t.TempDir()
	cfgPath := enrolConfig(t, dir, base, ca.Fingerprint())

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
	waitDeviceSeen(ctx, t, st, d.ID, done)
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
	waitDeviceSeen(ctx, t, st, d.ID, done)
	if ps, _ := admin.Enrolments(ctx); len(ps) != 0 {
		t.Errorf("after a restart: %d devices waiting, want none", len(ps))
	}
	stop()
	<-done

	// Pinned to another switchboard's CA in the config, the enrolled booth refuses to
	// start, and says how to move it.
	other := "SHA256:" + strings.Repeat("A", 42) + "A"
	enrolConfig(t, dir, base, other)
	err = run(ctx, []string{"-config", cfgPath, "-keyboard=false"})
	if !errors.Is(err, errPinMismatch) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), ca.Fingerprint()) {
		t.Errorf("restart pinned to another CA: got %v, want errPinMismatch naming both fingerprints", err)
	}
}

// TestEnrolRefusesAnotherSwitchboard: a booth whose config pins a CA fingerprint before
// the first contact takes no code from a switchboard with another CA (a rogue on the LAN,
// or a wrong url), and keeps nothing.
func TestEnrolRefusesAnotherSwitchboard(t *testing.T) {
	ts := newTLSSwitchboard(t)
	dir := t.TempDir()
	pin := "SHA256:" + strings.Repeat("A", 42) + "A"
	cfgPath := enrolConfig(t, dir, ts.base, pin)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, []string{"-config", cfgPath, "-keyboard=false"})
	if !errors.Is(err, errPinMismatch) {
		t.Fatalf("got %v, want errPinMismatch", err)
	}
	for _, want := range []string{ts.ca.Fingerprint(), pin, "switchboard.ca_fingerprint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	for _, f := range []string{identity.CertFile, caFile} {
		if _, err := os.Stat(filepath.Join(dir, "state", f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after a refused enrolment: got %v, want none", f, err)
		}
	}
}

// TestEnrolSaysTheCode: while it waits for approval the booth says its code, spelt out,
// for a patient or a member of staff who cannot read the screen.
func TestEnrolSaysTheCode(t *testing.T) {
	ts := newTLSSwitchboard(t)
	scr, err := openScreen(config.Screen{Backend: config.ScreenOff}, config.Device{Name: "booth"}, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	id, _, err := identity.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	said := make(chan string, 4)
	done := make(chan error, 1)
	go func() {
		_, err := enrolled(ctx, enrolment{base: ts.base, stateDir: t.TempDir(), name: "booth", id: id, scr: scr,
			say: func(text string) { said <- text }, log: slog.New(slog.DiscardHandler)})
		done <- err
	}()
	var text string
	select {
	case text = <-said:
	case err := <-done:
		t.Fatalf("enrolled returned before saying the code: %v", err)
	case <-ctx.Done():
		t.Fatal("the code was never said")
	}
	// The code said is the one the switchboard shows IT.
	anon, _ := apiclient.New(ts.base, "", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.ca.Pool()}}})
	login, err := anon.Login(ctx, "admin", "admin password 1")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := anon.WithToken(login.Token).Enrolments(ctx)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending: %v, %v; want one", pending, err)
	}
	if want := prompt.ActivationText(pending[0].Code); text != want {
		t.Errorf("said %q, want %q", text, want)
	}
	cancel()
	<-done
}
