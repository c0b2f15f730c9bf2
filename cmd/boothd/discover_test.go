package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/discovery"
	"github.com/carebooth/carebooth/provisioning/discovery/discoverytest"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/site"
	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/carebooth/carebooth/switchboard/store"
)

// discoveredConfig writes a boothd config with no switchboard.url: it finds the switchboard
// by mDNS on lo. pin is pinned when not "".
func discoveredConfig(t *testing.T, dir, pin string) string {
	t.Helper()
	pinLine := ""
	if pin != "" {
		pinLine = "[switchboard]\nca_fingerprint = \"" + pin + "\"\n"
	}
	cfgPath := filepath.Join(dir, "boothd.toml")
	if err := os.WriteFile(cfgPath, []byte(pinLine+`
[device]
name = "library-booth-7"
[state]
dir = "`+filepath.Join(dir, "state")+`"
[media]
video = "test"
audio = "test"
[screen]
backend = "off"
[speaker]
device = "off"
[metrics]
listen = "127.0.0.1:0"
[site]
listen = "127.0.0.1:0"
[discovery]
interfaces = ["lo"]
[log]
level = "error"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// advertiseSwitchboard announces a switchboard at base's port on lo, naming the CA ca, and
// returns the advertiser (closed when t ends).
func advertiseSwitchboard(t *testing.T, lo net.Interface, base, id, ca string) *discovery.Advertiser {
	t.Helper()
	ap := netip.MustParseAddrPort(strings.TrimPrefix(base, "https://"))
	adv, err := discovery.NewAdvertiser(discovery.AdvertiserConfig{Port: int(ap.Port()), Interfaces: []net.Interface{lo}},
		discovery.Record{Kind: discovery.KindSwitchboard, ID: id, Version: "test", CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adv.Close() })
	return adv
}

// pendingCode waits for the one device waiting for approval and returns its code.
func pendingCode(ctx context.Context, t *testing.T, admin *apiclient.Client, done <-chan error) string {
	t.Helper()
	for {
		ps, err := admin.Enrolments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 1 {
			return ps[0].Code
		}
		select {
		case err := <-done:
			t.Fatalf("boothd ended before asking to enrol: %v", err)
		case <-ctx.Done():
			t.Fatal("no device asked to enrol")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func adminOf(ctx context.Context, t *testing.T, ts tlsSwitchboard) *apiclient.Client {
	t.Helper()
	anon, _ := apiclient.New(ts.base, "", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.ca.Pool(), ServerName: "switchboard.site"}}})
	login, err := anon.Login(ctx, "admin", "admin password 1")
	if err != nil {
		t.Fatal(err)
	}
	return anon.WithToken(login.Token)
}

// TestEnrolsFoundByMDNS: a boothd with no switchboard.url finds the switchboard on the LAN,
// enrols through it (at an address its certificate does not name: the chain to the CA the
// announcement named is what counts), pins it, then announces itself, verifiably, with its
// site and state; restarted, it finds the switchboard again and connects without asking.
func TestEnrolsFoundByMDNS(t *testing.T) {
	lo, inside := discoverytest.Loopback(t)
	if !inside {
		return
	}
	ts := newTLSSwitchboardFor(t, "switchboard.site")
	advertiseSwitchboard(t, lo, ts.base, "sb", ts.ca.Fingerprint())
	dir := t.TempDir()
	cfgPath := discoveredConfig(t, dir, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin := adminOf(ctx, t, ts)

	done := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()
	code := pendingCode(ctx, t, admin, done)
	d, err := admin.ApproveEnrolment(ctx, enrol.Approval{Code: code, Site: ts.clinic.ID, Room: "Room 7", Role: device.RoleBooth})
	if err != nil {
		t.Fatal(err)
	}
	waitDeviceSeen(ctx, t, ts.st, d.ID, done)
	if u, err := readRemembered(filepath.Join(dir, "state")); err != nil || u != ts.base {
		t.Errorf("remembered address: got %q, %v; want %q", u, err, ts.base)
	}

	// The booth announces itself: its ID, role, site and state, and its site listener
	// answers another device of the site with the same, authenticated.
	tab := discovery.NewTable(discovery.TableConfig{})
	br, err := discovery.NewBrowser(discovery.BrowserConfig{Interfaces: []net.Interface{lo}, Kinds: []discovery.Kind{discovery.KindDevice}, Round: time.Second, Listen: 700 * time.Millisecond}, tab)
	if err != nil {
		t.Fatal(err)
	}
	var peer discovery.Peer
	for peer.ID == "" {
		if err := br.BrowseOnce(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range tab.Claiming(d.ID) {
			if p.Site == ts.clinic.ID {
				peer = p
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the enrolled booth's announcement with its site never came; saw %+v", tab.Peers(discovery.KindDevice))
		}
	}
	if peer.Role != device.RoleBooth || peer.State != signalling.StateIdle {
		t.Errorf("announced: got role %q state %q, want booth idle", peer.Role, peer.State)
	}
	other := siteCredsFor(t, ts, "dev-other")
	rec, err := site.Verify(ctx, other, peer)
	if err != nil || rec.ID != d.ID {
		t.Errorf("verify the booth at its announced address: got %+v, %v", rec, err)
	}

	stop()
	if err := <-done; err != nil {
		t.Fatalf("boothd: %v", err)
	}
	// Restarted: found again, pinned, connected with its certificate.
	ts.st.TouchDevice(d.ID, time.Time{})
	rctx, stop = context.WithCancel(ctx)
	defer stop()
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()
	waitDeviceSeen(ctx, t, ts.st, d.ID, done)
	if ps, _ := admin.Enrolments(ctx); len(ps) != 0 {
		t.Errorf("after a restart: %d devices waiting, want none", len(ps))
	}
}

// TestDiscoveryRogueSwitchboard: a rogue announcing another CA beside the site's switchboard
// stops an unpinned booth from choosing either (it asks neither for a code); pinned, the
// booth enrols with the site's and ignores the rogue. A rogue that names the site's CA but
// serves another is refused at the first contact.
func TestDiscoveryRogueSwitchboard(t *testing.T) {
	lo, inside := discoverytest.Loopback(t)
	if !inside {
		return
	}
	ts := newTLSSwitchboardFor(t, "switchboard.site")
	rogue := newTLSSwitchboardFor(t, "switchboard.site")
	advertiseSwitchboard(t, lo, ts.base, "sb", ts.ca.Fingerprint())
	advertiseSwitchboard(t, lo, rogue.base, "rogue", rogue.ca.Fingerprint())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin, rogueAdmin := adminOf(ctx, t, ts), adminOf(ctx, t, rogue)

	// Unpinned: neither is chosen.
	dir := t.TempDir()
	done := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	go func() { done <- run(rctx, []string{"-config", discoveredConfig(t, dir, ""), "-keyboard=false"}) }()
	time.Sleep(2 * settleFor)
	for name, c := range map[string]*apiclient.Client{"site's": admin, "rogue": rogueAdmin} {
		if ps, _ := c.Enrolments(ctx); len(ps) != 0 {
			t.Errorf("unpinned, with two CAs on the LAN: the %s switchboard was asked to enrol", name)
		}
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("boothd: %v", err)
	}

	// Pinned to the site's CA: enrols there.
	dir = t.TempDir()
	rctx, stop = context.WithCancel(ctx)
	defer stop()
	go func() {
		done <- run(rctx, []string{"-config", discoveredConfig(t, dir, ts.ca.Fingerprint()), "-keyboard=false"})
	}()
	pendingCode(ctx, t, admin, done)
	if ps, _ := rogueAdmin.Enrolments(ctx); len(ps) != 0 {
		t.Error("pinned: the rogue was asked to enrol")
	}
	stop()
	<-done
}

// TestDiscoveryRogueNamingTheSiteCA: a rogue announcing the site's CA fingerprint but
// serving with its own is refused at the first contact (the booth shows no code for it and
// keeps nothing; the rogue hears the booth's name and public key, which are no secret), and
// the booth goes on to the site's switchboard. Enrolled and restarted with the rogue still
// there, it checks each candidate's chain and connects to the site's.
func TestDiscoveryRogueNamingTheSiteCA(t *testing.T) {
	lo, inside := discoverytest.Loopback(t)
	if !inside {
		return
	}
	ts := newTLSSwitchboardFor(t, "switchboard.site")
	rogue := newTLSSwitchboardFor(t, "switchboard.site")
	advertiseSwitchboard(t, lo, rogue.base, "rogue", ts.ca.Fingerprint()) // a lie
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin := adminOf(ctx, t, ts)
	dir := t.TempDir()
	cfgPath := discoveredConfig(t, dir, "")
	done := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()

	// The rogue is the only one: refused, nothing kept, still looking.
	for {
		if ps, _ := adminOf(ctx, t, rogue).Enrolments(ctx); len(ps) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	for _, f := range []string{identity.CertFile, caFile} {
		if _, err := os.Stat(filepath.Join(dir, "state", f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s kept after a rogue: %v", f, err)
		}
	}
	// The site's switchboard appears: the booth enrols there.
	advertiseSwitchboard(t, lo, ts.base, "sb", ts.ca.Fingerprint())
	code := pendingCode(ctx, t, admin, done)
	d, err := admin.ApproveEnrolment(ctx, enrol.Approval{Code: code, Site: ts.clinic.ID, Room: "Room 7", Role: device.RoleBooth})
	if err != nil {
		t.Fatal(err)
	}
	waitDeviceSeen(ctx, t, ts.st, d.ID, done)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("boothd: %v", err)
	}

	// Restarted with the rogue still announcing the site's CA: connects to the site's.
	os.Remove(filepath.Join(dir, "state", urlFile))
	ts.st.TouchDevice(d.ID, time.Time{})
	rctx, stop = context.WithCancel(ctx)
	defer stop()
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()
	waitDeviceSeen(ctx, t, ts.st, d.ID, done)
	if u, _ := readRemembered(filepath.Join(dir, "state")); u != ts.base {
		t.Errorf("remembered: got %q, want the site's switchboard %q", u, ts.base)
	}
}

// waitDeviceSeen waits until the switchboard has seen device id connect.
func waitDeviceSeen(ctx context.Context, t *testing.T, st *store.Memory, id string, done <-chan error) {
	t.Helper()
	for {
		got, err := st.Device(id)
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

// siteCredsFor issues credentials for another device of ts's site.
func siteCredsFor(t *testing.T, ts tlsSwitchboard, id string) site.Credentials {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	der, err := ts.ca.IssueDevice(id, pub)
	if err != nil {
		t.Fatal(err)
	}
	return site.Credentials{Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, CA: ts.ca.Certificate()}
}

// TestFollowsAMovedSwitchboard: the switchboard found by mDNS moves to another address (a
// new lease); the booth's connection drops, the old address is dead, and the booth follows
// the announcement to the new one, and remembers it.
func TestFollowsAMovedSwitchboard(t *testing.T) {
	lo, inside := discoverytest.Loopback(t)
	if !inside {
		return
	}
	ts := newTLSSwitchboardFor(t, "switchboard.site")
	adv := advertiseSwitchboard(t, lo, ts.base, "sb", ts.ca.Fingerprint())
	dir := t.TempDir()
	cfgPath := discoveredConfig(t, dir, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin := adminOf(ctx, t, ts)
	done := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	defer func() { stop(); <-done }()
	go func() { done <- run(rctx, []string{"-config", cfgPath, "-keyboard=false"}) }()
	d, err := admin.ApproveEnrolment(ctx, enrol.Approval{Code: pendingCode(ctx, t, admin, done), Site: ts.clinic.ID, Room: "Room 7", Role: device.RoleBooth})
	if err != nil {
		t.Fatal(err)
	}
	waitDeviceSeen(ctx, t, ts.st, d.ID, done)

	adv.Close()
	moved := ts.move(t)
	advertiseSwitchboard(t, lo, moved, "sb", ts.ca.Fingerprint())
	ts.st.TouchDevice(d.ID, time.Time{})
	waitDeviceSeen(ctx, t, ts.st, d.ID, done)
	if u, _ := readRemembered(filepath.Join(dir, "state")); u != moved {
		t.Errorf("remembered: got %q, want the new address %q", u, moved)
	}
}
