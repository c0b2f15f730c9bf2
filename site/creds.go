package site

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/carebooth/carebooth/switchboard/deviceca"
)

// Credentials are a device's own certificate and the device CA it enrolled with.
type Credentials struct {
	Cert tls.Certificate
	CA   *x509.Certificate
}

// ErrNotDevice is wrapped when the other end's certificate is not a device certificate of
// the site's CA.
var ErrNotDevice = errors.New("not a device of this site")

// check verifies a peer's chain against the CA as a device certificate (client use, which
// is what the CA issues devices) and returns the device ID it names.
func (c Credentials) check(chain []*x509.Certificate) (string, error) {
	if len(chain) == 0 {
		return "", fmt.Errorf("%w: no certificate", ErrNotDevice)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.CA)
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotDevice, err)
	}
	id, err := deviceca.DeviceIDIssuedBy(c.CA, chain[0])
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotDevice, err)
	}
	return id, nil
}

// ID is the device ID the credentials' own certificate names.
func (c Credentials) ID() (string, error) {
	if len(c.Cert.Certificate) == 0 {
		return "", errors.New("site credentials: no certificate")
	}
	leaf, err := x509.ParseCertificate(c.Cert.Certificate[0])
	if err != nil {
		return "", fmt.Errorf("site credentials: %w", err)
	}
	return deviceca.DeviceIDIssuedBy(c.CA, leaf)
}

// serverTLS requires and checks a device certificate of the site's CA.
func (c Credentials) serverTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(c.CA)
	return &tls.Config{
		Certificates: []tls.Certificate{c.Cert},
		ClientAuth:   tls.RequireAndVerifyClientCert, // against ClientCAs, for client use
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := c.check(cs.PeerCertificates)
			return err
		},
	}
}

// clientTLS presents the device's certificate and accepts only the device wantID of the
// site's CA at the other end.
func (c Credentials) clientTLS(wantID string) *tls.Config {
	return &tls.Config{
		Certificates:       []tls.Certificate{c.Cert},
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // a device's certificate names no host; checked below against the CA
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := c.check(cs.PeerCertificates)
			if err != nil {
				return err
			}
			if id != wantID {
				return fmt.Errorf("%w: %w: the certificate there is device %q's", ErrNotDevice, ErrSpoofed, id)
			}
			return nil
		},
	}
}
