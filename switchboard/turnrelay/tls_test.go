package turnrelay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// relayCert is the TLS relay's certificate in these tests. pion's TURN client checks it
// against the system's roots only, so TestMain makes it the system's root (SSL_CERT_FILE)
// before anything in the test binary reads them.
var relayCert tls.Certificate

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "turnrelay-tls")
	if err != nil {
		panic(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	relayCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		panic(err)
	}
	os.Setenv("SSL_CERT_FILE", roots)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestRelayOnlyCallOverTLS: the last resort, for a site that lets nothing but TLS out.
func TestRelayOnlyCallOverTLS(t *testing.T) {
	creds, err := NewCredentials(testSecret, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", TLSCertificate: &relayCert,
		PublicIP: netip.MustParseAddr("127.0.0.1"), AllowLoopbackPeers: true}, creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	callThrough(t, s, "turns:")
}

func TestRelayTLSNeedsACertificate(t *testing.T) {
	creds, _ := NewCredentials(testSecret, time.Hour, nil)
	if _, err := Listen(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", PublicIP: netip.MustParseAddr("127.0.0.1")}, creds, nil); err == nil {
		t.Error("TLS without a certificate: got nil error")
	}
}
