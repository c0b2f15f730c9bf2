package deviceca

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesOnceAndKeeps(t *testing.T) {
	dir := t.TempDir()
	ca, created, err := Open(dir, "Riverside Surgery devices", nil)
	if err != nil || !created {
		t.Fatalf("first start: got created=%v, %v", created, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, KeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode: got %04o, want 0600", fi.Mode().Perm())
	}
	again, created, err := Open(dir, "ignored", nil)
	if err != nil || created {
		t.Fatalf("second start: got created=%v, %v, want the CA loaded", created, err)
	}
	if again.Fingerprint() != ca.Fingerprint() {
		t.Errorf("fingerprint after restart: got %s, want %s", again.Fingerprint(), ca.Fingerprint())
	}

	// A power cut after the key, before the certificate: the next start completes it.
	os.Remove(filepath.Join(dir, CertFile))
	healed, created, err := Open(dir, "Riverside Surgery devices", nil)
	if err != nil || !created {
		t.Fatalf("key without certificate: got created=%v, %v, want the certificate made from the key", created, err)
	}
	if !healed.Certificate().PublicKey.(ed25519.PublicKey).Equal(ca.key.Public()) {
		t.Error("remade certificate: got another key, want the kept one")
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(dir string)
		want  string
	}{
		{"key readable by others", func(dir string) { os.Chmod(filepath.Join(dir, KeyFile), 0o644) }, "chmod 600"},
		{"key lost", func(dir string) { os.Remove(filepath.Join(dir, KeyFile)) }, "restore the key"},
		{"key damaged", func(dir string) { os.WriteFile(filepath.Join(dir, KeyFile), []byte("junk"), 0o600) }, "PRIVATE KEY"},
		{"certificate of another CA", func(dir string) {
			other := t.TempDir()
			Open(other, "other", nil)
			data, _ := os.ReadFile(filepath.Join(other, CertFile))
			os.WriteFile(filepath.Join(dir, CertFile), data, 0o644)
		}, "not a CA certificate for the key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := Open(dir, "CA", nil); err != nil {
				t.Fatal(err)
			}
			tc.spoil(dir)
			before, _ := os.ReadFile(filepath.Join(dir, CertFile))
			_, _, err := Open(dir, "CA", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, CertFile)); string(after) != string(before) {
				t.Error("the refused CA's certificate was rewritten, want it left for IT")
			}
		})
	}
}

func TestIssueDevice(t *testing.T) {
	ca, _, err := Open(t.TempDir(), "CA", nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	der, err := ca.IssueDevice("dev-42", pub)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("verify as a client certificate: %v", err)
	}
	if id, err := ca.DeviceID(cert); err != nil || id != "dev-42" {
		t.Errorf("DeviceID: got %q, %v, want dev-42", id, err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("a device certificate verified as a server's, want refused")
	}

	// Another switchboard's device, and a certificate that names no device, are refused.
	other, _, _ := Open(t.TempDir(), "other", nil)
	oder, _ := other.IssueDevice("dev-42", pub)
	ocert, _ := x509.ParseCertificate(oder)
	if _, err := ca.DeviceID(ocert); err == nil || !strings.Contains(err.Error(), "not issued by") {
		t.Errorf("another CA's device: got %v, want refused", err)
	}
	plain := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "dev-42"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	pder, _ := x509.CreateCertificate(rand.Reader, plain, ca.cert, pub, ca.key)
	pcert, _ := x509.ParseCertificate(pder)
	if _, err := ca.DeviceID(pcert); err == nil || !strings.Contains(err.Error(), "not a device certificate") {
		t.Errorf("no device URI: got %v, want refused", err)
	}
	for _, bad := range []string{"", "a b", "../x"} {
		if _, err := ca.IssueDevice(bad, pub); err == nil {
			t.Errorf("IssueDevice(%q): issued, want refused", bad)
		}
	}
	if _, err := ca.IssueDevice("dev-1", pub[:5]); err == nil {
		t.Error("IssueDevice with a 5-byte key: issued, want refused")
	}
}

func TestIssueServer(t *testing.T) {
	ca, _, _ := Open(t.TempDir(), "CA", nil)
	der, key, err := ca.IssueServer([]string{"switchboard.local", "192.168.1.20"})
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if !cert.PublicKey.(ed25519.PublicKey).Equal(key.Public()) {
		t.Error("server certificate: not for the key returned with it")
	}
	for _, host := range []string{"switchboard.local", "192.168.1.20"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "elsewhere.example"}); err == nil {
		t.Error("verify for another host: ok, want refused")
	}
	if _, _, err := ca.IssueServer(nil); err == nil {
		t.Error("no hosts: issued, want refused")
	}
}
