package enrol

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/carebooth/carebooth/device"
)

// Request is what an unenrolled device posts, signed with the key it names in the
// Authorization header.
type Request struct {
	// Name is what the device calls itself (its host name), for the admin who approves it.
	Name string `json:"name"`
	// Version is the boothd version it runs.
	Version string `json:"version"`
}

// MaxNameLen bounds Request.Name and Version.
const MaxNameLen = 64

// Validate names what is wrong with r.
func (r Request) Validate() error {
	if err := checkText("name", r.Name); err != nil {
		return err
	}
	return checkText("version", r.Version)
}

// checkText refuses an empty, long, non-UTF-8 or control-character value of field.
func checkText(field, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%s: required", field)
	case len(v) > MaxNameLen:
		return fmt.Errorf("%s: %d bytes, at most %d", field, len(v), MaxNameLen)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s: not UTF-8", field)
	}
	for _, c := range v {
		if c < ' ' || c == 0x7f {
			return fmt.Errorf("%s: has a control character", field)
		}
	}
	return nil
}

// State is where an enrolment stands.
type State string

// Enrolment states.
const (
	Pending  State = "pending"  // waiting for an admin to approve the code
	Approved State = "approved" // approved: the status carries the credentials
	Expired  State = "expired"  // the code was not approved in time; ask again
	Refused  State = "refused"  // an admin refused it, or the device was revoked
)

// Status answers a Request and each poll.
type Status struct {
	State State `json:"state"`
	// Code and Expires are set while Pending.
	Code    string    `json:"code,omitempty"` // as a person reads it, "K7QM-4TZP"
	Expires time.Time `json:"expires,omitzero"`
	// CAFingerprint is the fingerprint of the switchboard's device CA, which the device
	// shows beside the code for the approving admin to compare, and pins.
	CAFingerprint string `json:"ca_fingerprint"`
	// PollAfter is how long to wait before the next poll.
	PollAfter time.Duration `json:"poll_after_ns,omitempty"`
	// The rest is set once Approved.
	DeviceID string      `json:"device_id,omitempty"`
	Site     string      `json:"site,omitempty"`
	Room     string      `json:"room,omitempty"`
	Role     device.Role `json:"role,omitempty"`
	// Chain is the issued certificate chain, DER, leaf first (base64 in JSON).
	Chain [][]byte `json:"chain,omitempty"`
	// CA is the device CA's certificate, DER, for the device's RootCAs.
	CA []byte `json:"ca,omitempty"`
}

// Approval is what an admin sends to approve a code.
type Approval struct {
	Code string      `json:"code"`
	Site string      `json:"site"`
	Room string      `json:"room"`
	Role device.Role `json:"role"`
}

// Validate names what is wrong with a.
func (a Approval) Validate() error {
	if _, err := ParseCode(a.Code); err != nil {
		return err
	}
	if !a.Role.Valid() {
		_, err := device.ParseRole(string(a.Role))
		return err
	}
	if err := checkText("site", a.Site); err != nil {
		return err
	}
	return checkText("room", a.Room)
}

// ErrNotPending is returned when a code is approved that is not waiting (unknown, used
// or expired); the message does not say which, so guessing learns nothing.
var ErrNotPending = errors.New("no device is waiting with that activation code")
