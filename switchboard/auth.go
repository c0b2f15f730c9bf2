package switchboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

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
	clinician   *store.Clinician
	sessionHash string // set when a session authenticated the clinician
	device      *store.Device
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

var errUnauthenticated = errors.New("no valid credentials")

// authenticate finds the principal of r from its bearer token or session cookie.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
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
		d, err := s.store.DeviceByTokenHash(hashToken(tok))
		if err != nil {
			return nil, errUnauthenticated
		}
		now := s.clock.Now()
		if now.Sub(d.LastSeen) > time.Minute { // one write a minute, not one per request
			if err := s.store.TouchDevice(d.ID, now); err == nil {
				d.LastSeen = now
			}
		}
		return &principal{device: &d}, nil
	case strings.HasPrefix(tok, sessionTokenPrefix):
		h := hashToken(tok)
		sess, err := s.store.Session(h)
		if err != nil {
			return nil, errUnauthenticated
		}
		if !sess.Expires.After(s.clock.Now()) {
			s.store.DeleteSession(h) //nolint:errcheck // best effort; expired anyway
			return nil, errUnauthenticated
		}
		c, err := s.store.Clinician(sess.ClinicianID)
		if err != nil {
			return nil, errUnauthenticated
		}
		return &principal{clinician: &c, sessionHash: h}, nil
	}
	return nil, errUnauthenticated
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

func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || s.cfg.SecureCookies || s.cfg.TLSCertFile != ""
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginLimiter counts failed logins per client address and per (address, username) in
// fixed windows. It is deliberately simple: it slows guessing from one place, it is not a
// defence against a botnet.
type loginLimiter struct {
	clock clockwork.Clock
	mu    sync.Mutex
	fails map[string]*window
}

type window struct {
	n     int
	reset time.Time
}

const (
	loginWindow        = 15 * time.Minute
	maxFailsPerUser    = 10
	maxFailsPerAddress = 50
)

func newLoginLimiter(clock clockwork.Clock) *loginLimiter {
	return &loginLimiter{clock: clock, fails: map[string]*window{}}
}

// allowed reports whether a login attempt may proceed, and if not, for how long to wait.
func (l *loginLimiter) allowed(ip, username string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	for k, w := range l.fails { // the map holds at most a window's worth of failures
		if !now.Before(w.reset) {
			delete(l.fails, k)
		}
	}
	if w := l.fails[ip+"\x00"+username]; w != nil && w.n >= maxFailsPerUser {
		return false, w.reset.Sub(now)
	}
	if w := l.fails[ip]; w != nil && w.n >= maxFailsPerAddress {
		return false, w.reset.Sub(now)
	}
	return true, 0
}

func (l *loginLimiter) failed(ip, username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	for _, k := range []string{ip + "\x00" + username, ip} {
		w := l.fails[k]
		if w == nil {
			w = &window{reset: now.Add(loginWindow)}
			l.fails[k] = w
		}
		w.n++
	}
}
