package switchboard

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

const (
	sessionCookie      = "cb_session"
	sessionTokenPrefix = "cbs_"
	deviceTokenPrefix  = "cbd_"
)

// principal is who made a request: a clinician (with the session that authenticated
// it) or a device.
type principal struct {
	clinician      *store.Clinician
	sessionHash    string    // set when a session authenticated the clinician
	sessionExpires time.Time // with sessionHash
	device         *store.Device
}

// identity is p as the hub knows it.
func (p *principal) identity() hub.Identity {
	return hub.Identity{Clinician: p.clinician, Device: p.device}
}

func (p *principal) clinicID() string {
	if p.device != nil {
		return p.device.ClinicID
	}
	return p.clinician.ClinicID
}

// newToken returns prefix + 256 random bits, URL-safe.
func newToken(prefix string) string {
	var b [32]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails on Linux
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is how tokens are stored: hex SHA-256. Tokens carry 256 random bits, so a
// fast hash is enough.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

var (
	errUnauthenticated = errors.New("no valid credentials")
	// errDeviceTokens is a device token sent to a switchboard that authenticates devices
	// by their keys only (Config.DeviceTokens).
	errDeviceTokens = errors.New("device tokens are not accepted here")
	// errRevoked is returned by authenticate for a device's valid credential once the
	// device has been revoked.
	errRevoked = errors.New("device revoked")
)

// authenticate finds the principal of r from its bearer token or session cookie, or
// from the device certificate it presented over TLS.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && r.Header.Get("Authorization") == "" {
		return s.certDevice(r.TLS.PeerCertificates[0])
	}
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, errUnauthenticated
		}
		tok = strings.TrimSpace(rest)
	} else if c, err := r.Cookie(sessionCookie); err == nil {
		tok = c.Value
	}
	switch {
	case strings.HasPrefix(tok, deviceTokenPrefix):
		if !s.deviceTokens() {
			return nil, errDeviceTokens
		}
		d, err := s.store.DeviceByTokenHash(hashToken(tok))
		if err != nil {
			return nil, errUnauthenticated
		}
		return s.devicePrincipal(d)
	case strings.HasPrefix(tok, sessionTokenPrefix):
		h := hashToken(tok)
		sess, err := s.store.Session(h)
		if err != nil {
			return nil, errUnauthenticated
		}
		if !sess.Expires.After(s.clock.Now()) {
			s.store.DeleteSession(h) //nolint:errcheck // best effort; expired anyway
			s.sockets.endSession(h, "session expired")
			return nil, errUnauthenticated
		}
		c, err := s.store.Clinician(sess.ClinicianID)
		if err != nil {
			return nil, errUnauthenticated
		}
		return &principal{clinician: &c, sessionHash: h, sessionExpires: sess.Expires}, nil
	}
	return nil, errUnauthenticated
}

// certDevice is the device a verified client certificate names, if the certificate is
// for the key that device enrolled with: a device enrolled again with a new key, or
// deleted, is not let in by its old certificate.
func (s *Server) certDevice(cert *x509.Certificate) (*principal, error) {
	if s.ca == nil {
		return nil, errUnauthenticated
	}
	id, err := s.ca.DeviceID(cert)
	if err != nil {
		return nil, errUnauthenticated
	}
	d, err := s.store.Device(id)
	if err != nil {
		return nil, errUnauthenticated
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || len(d.PublicKey) == 0 || !pub.Equal(ed25519.PublicKey(d.PublicKey)) {
		return nil, errUnauthenticated
	}
	return s.devicePrincipal(d)
}

// devicePrincipal is d as an authenticated principal, its last-seen time kept, or
// errRevoked.
func (s *Server) devicePrincipal(d store.Device) (*principal, error) {
	if d.Revoked != nil {
		return nil, errRevoked
	}
	now := s.clock.Now()
	if now.Sub(d.LastSeen) > time.Minute { // one write a minute, not one per request
		if err := s.store.TouchDevice(d.ID, now); err == nil {
			d.LastSeen = now
		}
	}
	return &principal{device: &d}, nil
}

// writeRevoked refuses a revoked device's request, with the code it recognises.
func writeRevoked(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, api.CodeRevoked, "this device has been revoked by IT; an admin must enrol it again")
}

// metricsAuthorized reports whether r carries the metrics token.
func (s *Server) metricsAuthorized(r *http.Request) bool {
	if s.cfg.MetricsToken == "" {
		return false
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.cfg.MetricsToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
