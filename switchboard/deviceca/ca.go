package deviceca

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/keyfile"
)

// File names inside the state directory.
const (
	KeyFile  = "ca.key"
	CertFile = "ca.crt"
)

// Validity periods.
const (
	CALifetime     = 20 * 365 * 24 * time.Hour
	DeviceLifetime = 5 * 365 * 24 * time.Hour
	ServerLifetime = 2 * 365 * 24 * time.Hour
	// backdate allows for a device whose clock is a little behind the switchboard's.
	backdate = time.Hour
)

// uriPrefix starts the URI SAN that names a device.
const uriPrefix = "carebooth:device:"

// CA is a loaded certificate authority.
type CA struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
	now  func() time.Time
}

// Open loads the CA from dir, creating what is missing (name is the common name of a
// new CA certificate, e.g. "Riverside Surgery devices"), and reports whether it created
// the certificate. now is the clock (nil: time.Now).
//
// The key is written first and the certificate second, each atomically: a power cut
// between them leaves a key, from which the next start makes the certificate. A key
// lost while its certificate remains is refused: a new key would orphan every device.
func Open(dir, name string, now func() time.Time) (*CA, bool, error) {
	if now == nil {
		now = time.Now
	}
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	key, err := keyfile.Read(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(certPath); err == nil {
			return nil, false, fmt.Errorf("device CA: %s exists but %s does not; restore the key from a backup (a new CA means enrolling every device again)", certPath, keyPath)
		}
		key, err = keyfile.Create(keyPath)
	}
	if err != nil {
		return nil, false, fmt.Errorf("device CA %w", err)
	}
	cert, err := loadCert(certPath, keyPath, key)
	created := false
	if errors.Is(err, fs.ErrNotExist) {
		cert, err = createCert(certPath, name, key, now())
		created = err == nil
	}
	if err != nil {
		return nil, false, err
	}
	return &CA{cert: cert, key: key, now: now}, created, nil
}

func createCert(path, name string, key ed25519.PrivateKey, t time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name, Organization: []string{"Carebooth"}},
		NotBefore: t.Add(-backdate), NotAfter: t.Add(CALifetime),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create device CA certificate: %w", err)
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("create device CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func loadCert(path, keyPath string, key ed25519.PrivateKey) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("device CA certificate %s: not one PEM CERTIFICATE block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("device CA certificate %s: %w", path, err)
	}
	if pub, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(key.Public()) || !cert.IsCA {
		return nil, fmt.Errorf("device CA certificate %s: not a CA certificate for the key in %s", path, keyPath)
	}
	return cert, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // never fails: see crypto/rand
	return n.Add(n, big.NewInt(1))
}

// Certificate returns the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Pool returns a pool holding only the CA certificate, for tls.Config.ClientCAs and a
// device's RootCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Fingerprint is the CA certificate's fingerprint: "SHA256:" and the unpadded base64 of
// the SHA-256 of its DER, which devices pin at enrolment.
func (ca *CA) Fingerprint() string { return Fingerprint(ca.cert.Raw) }

// Fingerprint returns the fingerprint of a DER certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// ValidFingerprint reports whether f has the shape Fingerprint gives: "SHA256:" and the
// unpadded standard base64 of 32 bytes.
func ValidFingerprint(f string) bool {
	rest, ok := strings.CutPrefix(f, "SHA256:")
	if !ok {
		return false
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(rest)
	return err == nil && len(b) == sha256.Size
}

// IssueDevice returns a client certificate (DER) for a device's key.
func (ca *CA) IssueDevice(deviceID string, pub ed25519.PublicKey) ([]byte, error) {
	if deviceID == "" || strings.ContainsAny(deviceID, " /") {
		return nil, fmt.Errorf("issue device certificate: device ID %q is empty or has a space or slash", deviceID)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("issue device certificate: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	u, err := url.Parse(uriPrefix + deviceID)
	if err != nil {
		return nil, fmt.Errorf("issue device certificate: %w", err)
	}
	t := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: deviceID},
		NotBefore: t.Add(-backdate), NotAfter: t.Add(DeviceLifetime),
		URIs:        []*url.URL{u},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue device certificate: %w", err)
	}
	return der, nil
}

// DeviceID returns the device a verified client certificate names. The caller must have
// verified the chain against Pool (tls.RequireAndVerifyClientCert does); it still
// checks that cert was issued by this CA and is a device certificate.
func (ca *CA) DeviceID(cert *x509.Certificate) (string, error) {
	return DeviceIDIssuedBy(ca.cert, cert)
}

// DeviceIDIssuedBy returns the device cert names, checking that the CA certificate caCert
// issued it and that it is a device certificate: what one device checks of another on its
// site, both holding the CA they enrolled with but not its key.
func DeviceIDIssuedBy(caCert, cert *x509.Certificate) (string, error) {
	if err := cert.CheckSignatureFrom(caCert); err != nil {
		return "", fmt.Errorf("certificate: not issued by the device CA: %w", err)
	}
	for _, u := range cert.URIs {
		if id, ok := strings.CutPrefix(u.String(), uriPrefix); ok && id == cert.Subject.CommonName && id != "" {
			return id, nil
		}
	}
	return "", errors.New("certificate: not a device certificate (no carebooth:device URI matching its name)")
}

// IssueServer returns a serving certificate (DER) and its key for the given host names
// and addresses, for a switchboard on a site LAN with no certificate of its own.
func (ca *CA) IssueServer(hosts []string) ([]byte, ed25519.PrivateKey, error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("issue server certificate: no host names or addresses")
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	t := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: t.Add(-backdate), NotAfter: t.Add(ServerLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	return der, key, nil
}
