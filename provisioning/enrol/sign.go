package enrol

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Scheme is the Authorization scheme of a signed request.
const Scheme = "Carebooth-Ed25519"

// MaxSkew is how far a signed request's time may be from the switchboard's.
const MaxSkew = 5 * time.Minute

// ErrSignature matches every error Verify returns.
var ErrSignature = errors.New("request signature refused")

// SigningString is what a device signs: the method, the path (with its query), the Unix
// time and the hex SHA-256 of the body, one per line.
func SigningString(method, path string, ts int64, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(method + "\n" + path + "\n" + strconv.FormatInt(ts, 10) + "\n" + hex.EncodeToString(sum[:]))
}

// Authorization returns the Authorization header value for a request signed by key at t.
func Authorization(key ed25519.PrivateKey, method, path string, t time.Time, body []byte) string {
	ts := t.Unix()
	sig := ed25519.Sign(key, SigningString(method, path, ts, body))
	return fmt.Sprintf("%s key=%s, ts=%d, sig=%s", Scheme,
		base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)), ts, base64.StdEncoding.EncodeToString(sig))
}

// Verify checks a signed request's Authorization header against its method, path and
// body at now, and returns the key that signed it.
func Verify(header, method, path string, body []byte, now time.Time) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(header, Scheme+" ")
	if !ok {
		return nil, fmt.Errorf("authorization: want the %s scheme (%w)", Scheme, ErrSignature)
	}
	if len(rest) > 512 {
		return nil, fmt.Errorf("authorization: %d bytes, too long (%w)", len(rest), ErrSignature)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || (k != "key" && k != "ts" && k != "sig") {
			return nil, fmt.Errorf("authorization: %q is not key=, ts= or sig= (%w)", clip(part), ErrSignature)
		}
		if _, dup := fields[k]; dup {
			return nil, fmt.Errorf("authorization: %s= given twice (%w)", k, ErrSignature)
		}
		fields[k] = v
	}
	pub, err := base64.StdEncoding.DecodeString(fields["key"])
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("authorization: key= is not a base64 ed25519 public key (%w)", ErrSignature)
	}
	ts, err := strconv.ParseInt(fields["ts"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("authorization: ts= is not a Unix time (%w)", ErrSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return nil, fmt.Errorf("authorization: signed at %s, %s from the switchboard's clock (more than %s); check the device's clock (%w)",
			time.Unix(ts, 0).UTC().Format(time.RFC3339), d.Round(time.Second), MaxSkew, ErrSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(fields["sig"])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("authorization: sig= is not a base64 ed25519 signature (%w)", ErrSignature)
	}
	if !ed25519.Verify(pub, SigningString(method, path, ts, body), sig) {
		return nil, fmt.Errorf("authorization: the signature does not match the request and key (%w)", ErrSignature)
	}
	return ed25519.PublicKey(pub), nil
}
