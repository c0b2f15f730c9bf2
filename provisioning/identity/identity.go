package identity

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/keyfile"
)

// File names inside the state directory.
const (
	KeyFile  = "identity.key"
	CertFile = "identity.crt"
)

// ErrNotEnrolled is returned by Certificate and TLSCertificate before the switchboard has
// issued a certificate.
var ErrNotEnrolled = errors.New("device not enrolled: no certificate yet")

// Identity is a device's key pair and, once enrolled, its certificate.
type Identity struct {
	dir string
	key ed25519.PrivateKey
}

// LoadOrCreate reads dir/identity.key, or creates it when there is none, and reports
// whether it did. dir must exist.
func LoadOrCreate(dir string) (*Identity, bool, error) {
	path := filepath.Join(dir, KeyFile)
	key, err := keyfile.Read(path)
	if err == nil {
		return &Identity{dir: dir, key: key}, false, nil
	}
	if errors.Is(err, keyfile.ErrReadable) {
		return nil, false, fmt.Errorf("device %w", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("device %w; restore it from a backup, or delete it to make a new key (the device must then be approved again)", err)
	}
	if key, err = keyfile.Create(path); err != nil {
		return nil, false, fmt.Errorf("device %w", err)
	}
	return &Identity{dir: dir, key: key}, true, nil
}

// PublicKey returns the device's public key.
func (id *Identity) PublicKey() ed25519.PublicKey { return id.key.Public().(ed25519.PublicKey) }

// Signer returns the private key, for TLS and signed requests.
func (id *Identity) Signer() crypto.Signer { return id.key }

// Fingerprint is how a person compares keys: "SHA256:" and the unpadded base64 of the
// public key's SHA-256, as ssh-keygen prints it.
func (id *Identity) Fingerprint() string { return Fingerprint(id.PublicKey()) }

// Fingerprint returns the fingerprint of any ed25519 public key.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// SaveCertificate keeps the chain the switchboard issued (DER, leaf first), after
// checking that the leaf is for this device's key.
func (id *Identity) SaveCertificate(chain [][]byte) error {
	if len(chain) == 0 {
		return errors.New("save device certificate: the chain is empty")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return fmt.Errorf("save device certificate: %w", err)
	}
	if pub, ok := leaf.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(id.PublicKey()) {
		return fmt.Errorf("save device certificate: it was issued for another key, not this device's %s", id.Fingerprint())
	}
	var buf bytes.Buffer
	for i, der := range chain {
		if i > 0 {
			if _, err := x509.ParseCertificate(der); err != nil {
				return fmt.Errorf("save device certificate: certificate %d of the chain: %w", i+1, err)
			}
		}
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	if err := atomicfile.Write(filepath.Join(id.dir, CertFile), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save device certificate: %w", err)
	}
	return nil
}

// Certificate returns the issued leaf certificate, or ErrNotEnrolled.
func (id *Identity) Certificate() (*x509.Certificate, error) {
	c, err := id.TLSCertificate()
	if err != nil {
		return nil, err
	}
	return c.Leaf, nil
}

// TLSCertificate returns the key and its issued chain for a TLS client, or
// ErrNotEnrolled. A certificate file that does not parse or is not for this key is an
// error naming the file.
func (id *Identity) TLSCertificate() (tls.Certificate, error) {
	path := filepath.Join(id.dir, CertFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, ErrNotEnrolled
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("device certificate: %w", err)
	}
	var c tls.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				return tls.Certificate{}, fmt.Errorf("device certificate %s: text that is not PEM after the certificates", path)
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return tls.Certificate{}, fmt.Errorf("device certificate %s: a %q block, want CERTIFICATE", path, block.Type)
		}
		c.Certificate = append(c.Certificate, block.Bytes)
	}
	if len(c.Certificate) == 0 {
		return tls.Certificate{}, fmt.Errorf("device certificate %s: no certificate in it; delete it and enrol again", path)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("device certificate %s: %w", path, err)
	}
	if pub, ok := leaf.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(id.PublicKey()) {
		return tls.Certificate{}, fmt.Errorf("device certificate %s: issued for another key, not this device's %s; delete it and enrol again", path, id.Fingerprint())
	}
	c.PrivateKey, c.Leaf = id.key, leaf
	return c, nil
}
