package turnrelay

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme's HMAC; the key is never exposed
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/signalling"
)

// Credential lifetimes.
const (
	// DefaultTTL is how long credentials handed out for a call last: long enough for a
	// long consultation (an allocation, once made, is refreshed with the same credentials).
	DefaultTTL = 4 * time.Hour
	// maxTTL bounds what a user name may claim: a forged far-future expiry would still need
	// the secret, but a server that has issued none so long refuses it outright.
	maxTTL = 24 * time.Hour
	// MinSecretBytes is the shortest secret accepted.
	MinSecretBytes = 32
)

// ErrCredentials is wrapped by every refusal of a user name and password.
var ErrCredentials = errors.New("TURN credentials refused")

// Credentials issues and checks time-limited TURN credentials.
type Credentials struct {
	secret []byte
	ttl    time.Duration
	clock  clockwork.Clock
}

// NewCredentials returns credentials under secret, lasting ttl (0: DefaultTTL).
func NewCredentials(secret []byte, ttl time.Duration, clock clockwork.Clock) (*Credentials, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("TURN secret: %d bytes, want at least %d", len(secret), MinSecretBytes)
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if ttl > maxTTL {
		return nil, fmt.Errorf("TURN credential lifetime %s: at most %s", ttl, maxTTL)
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Credentials{secret: append([]byte(nil), secret...), ttl: ttl, clock: clock}, nil
}

// Issue returns a user name and password for party (a device or clinician ID), and when
// they expire.
func (c *Credentials) Issue(party string) (user, password string, expires time.Time, err error) {
	if !signalling.ValidID(party) {
		return "", "", time.Time{}, fmt.Errorf("TURN credentials for %q: not an ID", party)
	}
	expires = c.clock.Now().Add(c.ttl).Truncate(time.Second)
	user = strconv.FormatInt(expires.Unix(), 10) + ":" + party
	return user, c.password(user), expires, nil
}

func (c *Credentials) password(user string) string {
	mac := hmac.New(sha1.New, c.secret)
	mac.Write([]byte(user))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Check parses a user name, refusing a malformed, expired or implausibly long-lived one,
// and returns the party it names and the password it must come with.
func (c *Credentials) Check(user string) (party, password string, err error) {
	exp, party, ok := strings.Cut(user, ":")
	if !ok || len(user) > 100 {
		return "", "", fmt.Errorf("%w: user name %q is not expiry:party", ErrCredentials, clip(user))
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || sec <= 0 {
		return "", "", fmt.Errorf("%w: user name %q: expiry is not a time", ErrCredentials, clip(user))
	}
	if !signalling.ValidID(party) {
		return "", "", fmt.Errorf("%w: user name %q: party is not an ID", ErrCredentials, clip(user))
	}
	now := c.clock.Now()
	expires := time.Unix(sec, 0)
	switch {
	case !expires.After(now):
		return "", "", fmt.Errorf("%w: %s's credentials expired at %s", ErrCredentials, party, expires.UTC().Format(time.RFC3339))
	case expires.Sub(now) > maxTTL:
		return "", "", fmt.Errorf("%w: %s's credentials claim to last until %s, longer than any issued", ErrCredentials, party, expires.UTC().Format(time.RFC3339))
	}
	return party, c.password(user), nil
}

// ICEServer is the ICE server entry for party: the relay's URLs with fresh credentials.
func (c *Credentials) ICEServer(urls []string, party string) (signalling.ICEServer, error) {
	user, pass, _, err := c.Issue(party)
	if err != nil {
		return signalling.ICEServer{}, err
	}
	return signalling.ICEServer{URLs: urls, Username: user, Credential: pass}, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
