package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	id, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("first start: got created=%v, %v, want a new key", created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: got %04o, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("state directory: got %d entries, want only %s (no temp file left)", len(entries), KeyFile)
	}
	again, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("second start: got created=%v, %v, want the same key loaded", created, err)
	}
	if !again.PublicKey().Equal(id.PublicKey()) {
		t.Error("second start: got another key, want the first one")
	}
	if fp := id.Fingerprint(); !strings.HasPrefix(fp, "SHA256:") || len(fp) != len("SHA256:")+43 {
		t.Errorf("fingerprint: got %q, want SHA256: and 43 base64 characters", fp)
	}
	other, _, _ := LoadOrCreate(t.TempDir())
	if other.Fingerprint() == id.Fingerprint() {
		t.Error("two devices: got the same fingerprint")
	}
}

// TestLoadRefusesBadKeys: a key others can read, or one that does not parse, is refused
// with what to do (package keyfile tests each way a file can be wrong), and left as it is:
// a new key would be a new device.
func TestLoadRefusesBadKeys(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		mode       os.FileMode
		want       string
	}{
		{"readable by others", "", 0o644, "chmod 600"},
		{"damaged", "hello", 0o600, "delete it to make a new key (the device must then be approved again)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFile)
			LoadOrCreate(dir)
			if tc.data != "" {
				os.WriteFile(path, []byte(tc.data), tc.mode)
			}
			os.Chmod(path, tc.mode)
			before, _ := os.ReadFile(path)
			_, _, err := LoadOrCreate(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, path, tc.want)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Error("the refused key file was changed, want it left for IT to look at")
			}
		})
	}
}

// testCA issues certificates as the switchboard's device CA would.
type testCA struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test device CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) issue(t *testing.T, pub ed25519.PublicKey, cn string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCertificate(t *testing.T) {
	dir := t.TempDir()
	id, _, _ := LoadOrCreate(dir)
	if _, err := id.TLSCertificate(); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("before enrolment: got %v, want ErrNotEnrolled", err)
	}
	ca := newTestCA(t)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := id.SaveCertificate([][]byte{ca.issue(t, otherPub, "dev-x")}); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("a certificate for another key: got %v, want refused", err)
	}
	if err := id.SaveCertificate([][]byte{[]byte("junk")}); err == nil {
		t.Fatal("a certificate that does not parse: saved, want refused")
	}
	if _, err := os.Stat(filepath.Join(dir, CertFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after refusals: got %v, want no certificate file", err)
	}
	if err := id.SaveCertificate([][]byte{ca.issue(t, id.PublicKey(), "dev-1"), ca.cert.Raw}); err != nil {
		t.Fatal(err)
	}
	again, _, _ := LoadOrCreate(dir)
	leaf, err := again.Certificate()
	if err != nil || leaf.Subject.CommonName != "dev-1" {
		t.Fatalf("after a restart: got %v, %v, want dev-1's certificate", leaf, err)
	}

	// The certificate file damaged, or swapped for another device's, is named.
	path := filepath.Join(dir, CertFile)
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.issue(t, otherPub, "dev-x")}), 0o600)
	if _, err := again.TLSCertificate(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("another device's certificate: got %v, want an error naming %s", err, path)
	}
	os.WriteFile(path, []byte("not pem"), 0o600)
	if _, err := again.TLSCertificate(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a damaged certificate file: got %v, want an error naming %s", err, path)
	}
}

// TestMutualTLS: the issued certificate and the device's key authenticate it to a server
// that requires client certificates from the CA, and a key the CA never certified does not.
func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	id, _, _ := LoadOrCreate(t.TempDir())
	if err := id.SaveCertificate([][]byte{ca.issue(t, id.PublicKey(), "dev-1")}); err != nil {
		t.Fatal(err)
	}
	clientCert, err := id.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	spub, skey, _ := ed25519.GenerateKey(rand.Reader)
	stmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "switchboard"},
		DNSNames: []string{"switchboard.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	sder, _ := x509.CreateCertificate(rand.Reader, stmpl, ca.cert, spub, ca.key)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)

	// Over loopback TCP, not net.Pipe: TLS 1.3 writes after the handshake (tickets,
	// alerts) that an unbuffered pipe would block on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	handshake := func(cert tls.Certificate) (string, error) {
		type result struct {
			cn  string
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- result{err: err}
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			srv := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{sder}, PrivateKey: skey}},
				ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
			if err := srv.Handshake(); err != nil {
				done <- result{err: err}
				return
			}
			done <- result{cn: srv.ConnectionState().PeerCertificates[0].Subject.CommonName}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		cli := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "switchboard.test", Certificates: []tls.Certificate{cert}})
		cli.Handshake() // in TLS 1.3 the client is done before the server has checked its certificate
		r := <-done
		return r.cn, r.err
	}
	if cn, err := handshake(clientCert); err != nil || cn != "dev-1" {
		t.Fatalf("enrolled device: got %q, %v, want dev-1 authenticated", cn, err)
	}
	// Another key presenting dev-1's certificate cannot complete the handshake.
	_, stolenKey, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := handshake(tls.Certificate{Certificate: clientCert.Certificate, PrivateKey: stolenKey}); err == nil {
		t.Error("dev-1's certificate with another key: handshake succeeded, want refused")
	}
}
