package discovery

import (
	"errors"
	"fmt"
	"strings"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/deviceca"
)

// Service types, as RFC 6763 §7 names them: an underscore, at most 15 characters, and the
// transport.
const (
	// DeviceService is what every boothd advertises.
	DeviceService = "_carebooth._tcp"
	// SwitchboardService is what a switchboard advertises.
	SwitchboardService = "_carebooth-sb._tcp"
	// Domain is the mDNS domain.
	Domain = "local."
)

// Kind is which service a record belongs to.
type Kind string

// Kinds.
const (
	KindDevice      Kind = "device"
	KindSwitchboard Kind = "switchboard"
)

// Service is the DNS-SD service type for records of kind k.
func (k Kind) Service() string {
	if k == KindSwitchboard {
		return SwitchboardService
	}
	return DeviceService
}

// Limits on what a TXT record may hold. A valid record is well under them; anything over
// is refused whole, so that a hostile announcement costs at most this much.
const (
	// MaxTXTStrings is the most key=value strings a record may have.
	MaxTXTStrings = 16
	// MaxTXTBytes is the most bytes all of a record's strings may have together.
	MaxTXTBytes = 512
	// maxValue is the most bytes one value may have (a fingerprint is 50).
	maxValue = 64
	// txtVersion is the only record version this package reads.
	txtVersion = "1"
)

// TXT keys.
const (
	keyVersion  = "txtvers"
	keyID       = "id"
	keyRole     = "role"
	keySite     = "site"
	keyFirmware = "ver"
	keyState    = "state"
	keyCA       = "ca"
)

// ErrRecord is wrapped by every error that refuses a TXT record.
var ErrRecord = errors.New("malformed carebooth TXT record")

// Record is what a device or switchboard says of itself in its TXT record.
type Record struct {
	Kind Kind `json:"kind"`
	// ID is the device's ID, or the switchboard's name; 1-64 letters, digits, '-', '_'.
	ID string `json:"id"`
	// Role is the device's role (devices only).
	Role device.Role `json:"role,omitempty"`
	// Site is the site (clinic) the device or switchboard belongs to; empty while a device
	// is not enrolled, or for a switchboard of many sites.
	Site string `json:"site,omitempty"`
	// Version is the firmware or server version.
	Version string `json:"version"`
	// State is what the device is doing (devices only).
	State signalling.BoothState `json:"state,omitempty"`
	// CA is the fingerprint of the switchboard's device CA ("SHA256:" and 43 characters of
	// base64), which devices pin at enrolment (switchboards only).
	CA string `json:"ca,omitempty"`
}

// Validate returns what is wrong with r, or nil.
func (r Record) Validate() error {
	bad := func(key, why string) error { return fmt.Errorf("%w: %s: %s", ErrRecord, key, why) }
	if !signalling.ValidID(r.ID) {
		return bad(keyID, "must be 1-64 letters, digits, '-' or '_'")
	}
	if r.Site != "" && !signalling.ValidID(r.Site) {
		return bad(keySite, "must be 1-64 letters, digits, '-' or '_'")
	}
	if r.Version == "" || !validToken(r.Version) {
		return bad(keyFirmware, "must be 1-64 printable characters without spaces")
	}
	switch r.Kind {
	case KindDevice:
		if !r.Role.Valid() {
			return bad(keyRole, fmt.Sprintf("%q is not a device role (%q)", r.Role, device.Roles))
		}
		if !r.State.Valid() {
			return bad(keyState, fmt.Sprintf("%q is not a device state (%q)", r.State, signalling.BoothStates))
		}
		if r.CA != "" {
			return bad(keyCA, "only a switchboard names a CA")
		}
	case KindSwitchboard:
		if !deviceca.ValidFingerprint(r.CA) {
			return bad(keyCA, `must be "SHA256:" and 43 characters of base64`)
		}
		if r.Role != "" || r.State != "" {
			return bad(keyRole, "a switchboard has no role or state")
		}
	default:
		return fmt.Errorf("%w: kind %q is neither %q nor %q", ErrRecord, r.Kind, KindDevice, KindSwitchboard)
	}
	return nil
}

// TXT returns the record's TXT strings.
func (r Record) TXT() ([]string, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	txt := []string{keyVersion + "=" + txtVersion, keyID + "=" + r.ID, keyFirmware + "=" + r.Version}
	if r.Site != "" {
		txt = append(txt, keySite+"="+r.Site)
	}
	if r.Kind == KindDevice {
		txt = append(txt, keyRole+"="+string(r.Role), keyState+"="+string(r.State))
	} else {
		txt = append(txt, keyCA+"="+r.CA)
	}
	return txt, nil
}

// ParseTXT reads the TXT strings of a service of kind k. It follows RFC 6763 §6.4: keys
// are case-insensitive, only a key's first occurrence counts, and unknown keys are
// ignored, so a newer device's extra keys do not hide it. A record over the limits, of
// another txtvers, or with a missing or malformed value is refused.
func ParseTXT(k Kind, txt []string) (Record, error) {
	if len(txt) > MaxTXTStrings {
		return Record{}, fmt.Errorf("%w: %d strings, at most %d", ErrRecord, len(txt), MaxTXTStrings)
	}
	total := 0
	for _, s := range txt {
		total += len(s)
	}
	if total > MaxTXTBytes {
		return Record{}, fmt.Errorf("%w: %d bytes, at most %d", ErrRecord, total, MaxTXTBytes)
	}
	vals := make(map[string]string, len(txt))
	for i, s := range txt {
		key, val, ok := strings.Cut(s, "=")
		key = strings.ToLower(key)
		if key == "" || !ok && i == 0 {
			return Record{}, fmt.Errorf("%w: string %d %q is not key=value", ErrRecord, i+1, clip(s))
		}
		if !ok {
			continue // a boolean attribute (RFC 6763 §6.4); none is ours
		}
		if i == 0 && key != keyVersion {
			return Record{}, fmt.Errorf("%w: the first string must be %s=%s, got %q", ErrRecord, keyVersion, txtVersion, clip(s))
		}
		if len(val) > maxValue {
			return Record{}, fmt.Errorf("%w: %s: %d bytes, at most %d", ErrRecord, key, len(val), maxValue)
		}
		if _, seen := vals[key]; !seen {
			vals[key] = val
		}
	}
	if len(txt) == 0 {
		return Record{}, fmt.Errorf("%w: empty", ErrRecord)
	}
	if v := vals[keyVersion]; v != txtVersion {
		return Record{}, fmt.Errorf("%w: %s=%q, this device reads %s", ErrRecord, keyVersion, clip(v), txtVersion)
	}
	r := Record{Kind: k, ID: vals[keyID], Site: vals[keySite], Version: vals[keyFirmware], CA: vals[keyCA]}
	if k == KindDevice {
		r.Role, r.State = device.Role(vals[keyRole]), signalling.BoothState(vals[keyState])
	}
	if err := r.Validate(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// clip shortens s for an error message: a hostile string is not repeated whole.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// validToken is a version string: printable ASCII without spaces, quotes or backslashes
// (which the DNS library would have escaped).
func validToken(s string) bool {
	if len(s) == 0 || len(s) > maxValue {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
