package device

import "fmt"

// Role is what an appliance is for.
type Role string

// Roles. The string values are stored, written in config files and sent on the wire;
// never change them.
const (
	// RoleBooth is a patient's booth: it keeps a schedule and joins waiting rooms.
	RoleBooth Role = "booth"
	// RoleClinic is the clinic-room appliance: it shows its clinic's waiting room, its
	// Join button (Next) admits the patient who has waited longest and End ends the call.
	RoleClinic Role = "clinic"
)

// Roles lists every role.
var Roles = []Role{RoleBooth, RoleClinic}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleBooth || r == RoleClinic }

// ParseRole returns the role named s, or an error naming the allowed values.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("role %q: allowed values are %q (a patient's booth) and %q (the clinic-room appliance)", s, RoleBooth, RoleClinic)
}

// JoinMode is how a booth joins its appointments.
type JoinMode string

// Join modes. The string values are stored, written in config files and sent on the
// wire; never change them.
const (
	// JoinAuto arrives in the waiting room at the appointment's start time, for rooms
	// where nobody is there to press a button.
	JoinAuto JoinMode = "auto"
	// JoinButton arrives when Join is pressed during the join window.
	JoinButton JoinMode = "button"
)

// JoinModes lists every join mode.
var JoinModes = []JoinMode{JoinAuto, JoinButton}

// Valid reports whether m is a known join mode.
func (m JoinMode) Valid() bool { return m == JoinAuto || m == JoinButton }

// ParseJoinMode returns the join mode named s, or an error naming the allowed values.
func ParseJoinMode(s string) (JoinMode, error) {
	if m := JoinMode(s); m.Valid() {
		return m, nil
	}
	return "", fmt.Errorf("join mode %q: allowed values are %q and %q", s, JoinAuto, JoinButton)
}
