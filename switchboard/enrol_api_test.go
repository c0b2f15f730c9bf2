package switchboard

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/enrolment"
	"github.com/carebooth/carebooth/switchboard/store"
	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"
)

// signed sends an enrolment request signed by key at the switchboard's time plus skew.
func (e *env) signed(key ed25519.PrivateKey, method string, body string, skew time.Duration) (int, enrol.Status, []byte) {
	e.t.Helper()
	hdr := map[string]string{"Authorization": enrol.Authorization(key, method, "/api/v1/enrol", e.clock.Now().Add(skew), []byte(body))}
	if body != "" {
		hdr["Content-Type"] = "application/json"
	}
	res, out := e.send(method, "/api/v1/enrol", body, hdr)
	var st enrol.Status
	if res.StatusCode == http.StatusOK {
		must(e.t, json.Unmarshal(out, &st))
	}
	return res.StatusCode, st, out
}

const enrolBody = `{"name":"library-booth-7","version":"1.2.0"}`

func (e *env) approve(tok string, a enrol.Approval) (int, []byte) {
	e.t.Helper()
	return e.do("POST", "/api/v1/enrolments/approve", tok, a)
}

// TestEnrolEndToEnd: a device asks with its key, shows its code, an admin approves it
// into a site and room, and the device's next poll carries a certificate for its key
// that the device CA verifies and names it by.
func TestEnrolEndToEnd(t *testing.T) {
	e := newEnv(t)
	id, _, err := identity.LoadOrCreate(t.TempDir())
	must(t, err)
	key := id.Signer().(ed25519.PrivateKey)

	status, st, body := e.signed(key, "POST", enrolBody, 0)
	if status != http.StatusOK || st.State != enrol.Pending || st.Code == "" || st.CAFingerprint != e.ca.Fingerprint() {
		t.Fatalf("request: got %d %s, want pending with a code and the CA's fingerprint", status, body)
	}
	if _, again, _ := e.signed(key, "POST", enrolBody, 0); again.Code != st.Code {
		t.Errorf("asking again: got code %s, want %s", again.Code, st.Code)
	}
	if _, poll, _ := e.signed(key, "GET", "", 0); poll.State != enrol.Pending || poll.Code != st.Code {
		t.Errorf("poll: got %+v, want pending with %s", poll, st.Code)
	}

	// The admin sees it waiting, with the key's fingerprint to compare.
	_, list := e.do("GET", "/api/v1/enrolments", e.adminTok, nil)
	var l api.Enrolments
	must(t, json.Unmarshal(list, &l))
	if len(l.Enrolments) != 1 || l.Enrolments[0].Code != st.Code || l.Enrolments[0].KeyFingerprint != id.Fingerprint() || l.Enrolments[0].Name != "library-booth-7" {
		t.Fatalf("pending list: got %s", list)
	}
	if code, _ := e.do("GET", "/api/v1/enrolments", e.docTok, nil); code != http.StatusForbidden {
		t.Errorf("a clinician listing enrolments: got %d, want 403", code)
	}
	if code, _ := e.approve(e.docTok, enrol.Approval{Code: st.Code, Site: e.clinic.ID, Room: "Room 2"}); code != http.StatusForbidden {
		t.Errorf("a clinician approving: got %d, want 403", code)
	}
	if code, body := e.approve(e.fleetTok, enrol.Approval{Code: st.Code, Site: "no-such-clinic", Room: "Room 2"}); code != http.StatusBadRequest {
		t.Errorf("an unknown site: got %d %s, want 400", code, body)
	}

	code, body := e.approve(e.adminTok, enrol.Approval{Code: strings.ToLower(st.Code), Site: e.clinic.ID, Room: "Room 2", Role: "booth"})
	if code != http.StatusCreated {
		t.Fatalf("approve: got %d %s, want 201", code, body)
	}
	var dev api.Device
	must(t, json.Unmarshal(body, &dev))
	if dev.ClinicID != e.clinic.ID || dev.Room != "Room 2" || dev.KeyFingerprint != id.Fingerprint() || dev.Name != "library-booth-7" {
		t.Errorf("enrolled device: got %+v", dev)
	}
	if code, _ := e.approve(e.adminTok, enrol.Approval{Code: st.Code, Site: e.clinic.ID, Room: "Room 2"}); code != http.StatusNotFound {
		t.Errorf("the code again: got %d, want 404 (single use)", code)
	}

	_, done, body := e.signed(key, "GET", "", 0)
	if done.State != enrol.Approved || done.DeviceID != dev.ID || done.Room != "Room 2" || len(done.Chain) != 1 {
		t.Fatalf("poll after approval: got %s, want approved with a certificate", body)
	}
	if err := id.SaveCertificate(done.Chain); err != nil {
		t.Fatalf("the device keeps its certificate: %v", err)
	}
	leaf, _ := x509.ParseCertificate(done.Chain[0])
	caCert, err := x509.ParseCertificate(done.CA)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the certificate against the CA the answer carries: %v", err)
	}
	if got, err := e.ca.DeviceID(leaf); err != nil || got != dev.ID {
		t.Errorf("the CA names it: got %q, %v, want %s", got, err, dev.ID)
	}
}

func TestEnrolRefusals(t *testing.T) {
	e := newEnv(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)

	if res, body := e.send("POST", "/api/v1/enrol", enrolBody, map[string]string{"Content-Type": "application/json"}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: got %d %s, want 401", res.StatusCode, body)
	}
	if code, _, body := e.signed(key, "POST", enrolBody, enrol.MaxSkew+time.Minute); code != http.StatusUnauthorized || !strings.Contains(string(body), "clock") {
		t.Errorf("signed 6 minutes ago: got %d %s, want 401 naming the clock", code, body)
	}
	// Signed by one key, claiming another: take key's header and other's signature.
	h := enrol.Authorization(key, "POST", "/api/v1/enrol", e.clock.Now(), []byte(enrolBody))
	ho := enrol.Authorization(other, "POST", "/api/v1/enrol", e.clock.Now(), []byte(enrolBody))
	forged := h[:strings.Index(h, "sig=")] + ho[strings.Index(ho, "sig="):]
	if res, body := e.send("POST", "/api/v1/enrol", enrolBody, map[string]string{"Content-Type": "application/json", "Authorization": forged}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("signed by another key: got %d %s, want 401", res.StatusCode, body)
	}
	// The signature covers the body.
	h = enrol.Authorization(key, "POST", "/api/v1/enrol", e.clock.Now(), []byte(enrolBody))
	if res, _ := e.send("POST", "/api/v1/enrol", `{"name":"evil","version":"1"}`, map[string]string{"Content-Type": "application/json", "Authorization": h}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("another body under the signature: got %d, want 401", res.StatusCode)
	}
	if code, _, body := e.signed(key, "POST", `{"name":"x","version":"1","admin":true}`, 0); code != http.StatusBadRequest {
		t.Errorf("an unknown field: got %d %s, want 400", code, body)
	}

	// Guessing: after MaxMissesPerSource wrong codes, even the right one waits.
	_, st, _ := e.signed(key, "POST", enrolBody, 0)
	for i := range enrolment.MaxMissesPerSource {
		if code, body := e.approve(e.adminTok, enrol.Approval{Code: "0000000" + string("0123456789"[i%10]), Site: e.clinic.ID, Room: "R"}); code != http.StatusNotFound {
			t.Fatalf("wrong code %d: got %d %s, want 404", i, code, body)
		}
	}
	if code, body := e.approve(e.adminTok, enrol.Approval{Code: st.Code, Site: e.clinic.ID, Room: "R"}); code != http.StatusTooManyRequests {
		t.Errorf("the right code after %d wrong ones: got %d %s, want 429", enrolment.MaxMissesPerSource, code, body)
	}
	e.clock.Advance(enrolment.MissWindow)
	if code, body := e.approve(e.adminTok, enrol.Approval{Code: st.Code, Site: e.clinic.ID, Room: "R"}); code != http.StatusCreated {
		t.Errorf("after the window: got %d %s, want 201", code, body)
	}

	// An expired code is refused and the device is told to ask again.
	_, key3, _ := ed25519.GenerateKey(rand.Reader)
	_, st3, _ := e.signed(key3, "POST", enrolBody, 0)
	e.clock.Advance(enrol.CodeLifetime)
	admin := e.addClinician("admin2", "Admin Two", e.clinic.ID, true).tok // the first one's session has ended
	if code, _ := e.approve(admin, enrol.Approval{Code: st3.Code, Site: e.clinic.ID, Room: "R"}); code != http.StatusNotFound {
		t.Errorf("a day-old code: got %d, want 404", code)
	}
	if _, poll, _ := e.signed(key3, "GET", "", 0); poll.State != enrol.Expired {
		t.Errorf("polling with a day-old code: got %q, want expired", poll.State)
	}
}

// TestEnrolledDeviceAuthenticatesByCertificate: over TLS the certificate an enrolled
// device received lets it in as that device with no token; the same certificate with
// another key, a certificate the device held before it enrolled again, and one from
// another CA do not.
func TestEnrolledDeviceAuthenticatesByCertificate(t *testing.T) {
	e := newEnv(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, st, _ := e.signed(key, "POST", enrolBody, 0)
	if code, body := e.approve(e.adminTok, enrol.Approval{Code: st.Code, Site: e.clinic.ID, Room: "Room 1"}); code != http.StatusCreated {
		t.Fatalf("approve: %d %s", code, body)
	}
	_, done, _ := e.signed(key, "GET", "", 0)

	ts := httptest.NewUnstartedServer(e.srv.Handler())
	ts.TLS = e.srv.TLSConfig()
	der, skey, err := e.ca.IssueServer([]string{"127.0.0.1"})
	must(t, err)
	ts.TLS.Certificates = []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: skey}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	me := func(cert *tls.Certificate) (int, api.Me) {
		cfg := &tls.Config{RootCAs: e.ca.Pool()}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
		res, err := hc.Get(ts.URL + "/api/v1/me")
		if err != nil {
			return 0, api.Me{}
		}
		defer res.Body.Close()
		var m api.Me
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	good := tls.Certificate{Certificate: done.Chain, PrivateKey: key}
	if code, m := me(&good); code != http.StatusOK || m.Device == nil || m.Device.ID != done.DeviceID {
		t.Fatalf("enrolled device's certificate: got %d %+v, want it as device %s", code, m, done.DeviceID)
	}
	if code, _ := me(nil); code != http.StatusUnauthorized {
		t.Errorf("no certificate, no token: got %d, want 401", code)
	}
	// Another key under the device's name: the CA issues it, but it is not the enrolled key.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	oder, _ := e.ca.IssueDevice(done.DeviceID, other.Public().(ed25519.PublicKey))
	if code, _ := me(&tls.Certificate{Certificate: [][]byte{oder}, PrivateKey: other}); code != http.StatusUnauthorized {
		t.Errorf("a certificate for another key: got %d, want 401", code)
	}
	// Another switchboard's CA: the handshake itself fails.
	foreign, _, _ := deviceca.Open(t.TempDir(), "elsewhere", nil)
	fder, _ := foreign.IssueDevice(done.DeviceID, key.Public().(ed25519.PublicKey))
	if code, _ := me(&tls.Certificate{Certificate: [][]byte{fder}, PrivateKey: key}); code == http.StatusOK {
		t.Error("a certificate from another CA: let in, want refused")
	}
}

// TestServesTLSWithItsOwnLANCertificate: a switchboard with no certificate files serves
// HTTPS with the one its device CA issues for the LAN, which a device that pinned the CA
// verifies, and its device routes take the device certificate.
func TestServesTLSWithItsOwnLANCertificate(t *testing.T) {
	st := store.NewMemory()
	clock := clockwork.NewFakeClockAt(t0)
	ca, _, err := deviceca.Open(t.TempDir(), "site devices", nil)
	must(t, err)
	der, key, err := ca.IssueServer([]string{"127.0.0.1"})
	must(t, err)
	srv, err := New(Config{BcryptCost: bcrypt.MinCost, TLSCertificate: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}},
		Deps{Store: st, Clock: clock, CA: ca})
	must(t, err)
	_, dkey, _ := ed25519.GenerateKey(rand.Reader)
	d := store.Device{Name: "booth", ClinicID: "c1", Role: device.RoleBooth, PublicKey: dkey.Public().(ed25519.PublicKey),
		TokenHash: keyIndex(dkey.Public().(ed25519.PublicKey)), CreatedAt: t0}
	must(t, st.CreateDevice(&d))
	cert, err := ca.IssueDevice(d.ID, dkey.Public().(ed25519.PublicKey))
	must(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool(), Certificates: []tls.Certificate{{Certificate: [][]byte{cert}, PrivateKey: dkey}}}}}
	res, err := hc.Get("https://" + ln.Addr().String() + "/api/v1/me")
	if err != nil {
		t.Fatalf("GET over TLS, verifying against the pinned CA: %v", err)
	}
	defer res.Body.Close()
	var m api.Me
	json.NewDecoder(res.Body).Decode(&m)
	if res.StatusCode != http.StatusOK || m.Device == nil || m.Device.ID != d.ID {
		t.Errorf("me over TLS with the device certificate: got %d %+v, want device %s", res.StatusCode, m, d.ID)
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("served over TLS without Strict-Transport-Security")
	}
	// A client that trusts only the system roots refuses the LAN certificate.
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get("https://" + ln.Addr().String() + "/api/v1/me"); err == nil {
		t.Error("a client without the pinned CA: connected, want the certificate refused")
	}
	if _, err := New(Config{TLSCertFile: "a", TLSKeyFile: "b", TLSCertificate: &tls.Certificate{}}, Deps{Store: st}); err == nil {
		t.Error("certificate files and a loaded certificate: accepted, want refused")
	}
}

// TestDeviceTokensOnTLS: a switchboard serving TLS authenticates devices by their keys
// only: a device token is refused (saying what to do), and no new token is issued, unless
// the switchboard is told to keep tokens; plain HTTP (make run) keeps them.
func TestDeviceTokensOnTLS(t *testing.T) {
	newDevice := map[string]any{"name": "booth-9", "clinic_id": ""}
	for _, tc := range []struct {
		name      string
		configure func(*Config)
		want      int // status of GET /api/v1/me with the booth's token
	}{
		{"plain HTTP", func(*Config) {}, http.StatusOK},
		{"TLS", func(c *Config) { c.TLSCertificate = &tls.Certificate{} }, http.StatusUnauthorized},
		{"TLS with -device-tokens", func(c *Config) { c.TLSCertificate = &tls.Certificate{}; c.DeviceTokens = true }, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, tc.configure)
			code, body := e.do("GET", "/api/v1/me", e.boothTok, nil)
			if code != tc.want {
				t.Fatalf("GET /api/v1/me with a device token: got %d %s, want %d", code, body, tc.want)
			}
			if code == http.StatusUnauthorized && !strings.Contains(string(body), "token_file") {
				t.Errorf("refusal %s does not say to remove switchboard.token_file", body)
			}
			newDevice["clinic_id"] = e.clinic.ID
			code, body = e.do("POST", "/api/v1/devices", e.adminTok, newDevice)
			wantCreate := http.StatusCreated
			if tc.want == http.StatusUnauthorized {
				wantCreate = http.StatusForbidden
			}
			if code != wantCreate {
				t.Errorf("POST /api/v1/devices: got %d %s, want %d", code, body, wantCreate)
			}
			if code == http.StatusForbidden && !strings.Contains(string(body), "activation code") {
				t.Errorf("refusal %s does not point to enrolment", body)
			}
		})
	}
}
