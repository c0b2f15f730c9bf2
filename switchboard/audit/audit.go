package audit

import (
	"fmt"
	"time"
)

// Retention is how long entries are kept: long enough to answer for a year of access
// (NHS DSPT asks for audit trails to be retained and reviewed), no longer.
const Retention = 400 * 24 * time.Hour

// Action is what an audit entry records.
type Action string

// The actions recorded.
const (
	Login             Action = "login"
	LoginFailed       Action = "login_failed"
	Logout            Action = "logout"
	ClinicCreate      Action = "clinic_create"
	ClinicianCreate   Action = "clinician_create"
	DeviceCreate      Action = "device_create"
	DeviceSettings    Action = "device_settings"
	DeviceRevoke      Action = "device_revoke"
	EnrolmentApprove  Action = "enrolment_approve"
	AppointmentCreate Action = "appointment_create"
	AppointmentCancel Action = "appointment_cancel"
	AppointmentNoShow Action = "appointment_no_show"
	AppointmentPhone  Action = "appointment_telephone"
	AppointmentImport Action = "appointment_import"
	Admit             Action = "admit"
	CallEnd           Action = "call_end"
	ConfigPut         Action = "config_put"
	FirmwarePublish   Action = "firmware_publish"
	RolloutPause      Action = "rollout_pause"
	RolloutResume     Action = "rollout_resume"
	RolloutPromote    Action = "rollout_promote"
	// DeviceSelfTest and DeviceLogs change nothing but are recorded all the same: a
	// self-test opens a booth's camera, and a booth's log says who used it when.
	DeviceSelfTest Action = "device_selftest"
	DeviceLogs     Action = "device_logs"
	// HelpAcknowledge is a member of staff saying they are coming to a booth's Help press.
	HelpAcknowledge Action = "help_acknowledge"
)

// Actions lists every Action, for validation and documentation.
var Actions = []Action{Login, LoginFailed, Logout, ClinicCreate, ClinicianCreate, DeviceCreate, DeviceSettings,
	DeviceRevoke, EnrolmentApprove, AppointmentCreate, AppointmentCancel, AppointmentNoShow, AppointmentPhone,
	AppointmentImport, Admit, CallEnd, ConfigPut, FirmwarePublish, RolloutPause, RolloutResume, RolloutPromote,
	DeviceSelfTest, DeviceLogs, HelpAcknowledge}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool {
	for _, x := range Actions {
		if a == x {
			return true
		}
	}
	return false
}

// ActorKind says what an entry's Actor names.
type ActorKind string

// Actor kinds.
const (
	ByClinician ActorKind = "clinician" // Actor is the username
	ByDevice    ActorKind = "device"    // Actor is the device ID
	ByAnonymous ActorKind = "anonymous" // a failed login: Actor is the username tried
	BySystem    ActorKind = "system"    // the switchboard itself (a lost connection)
)

// Entry is one audit record. Seq rises per store and is its key.
type Entry struct {
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	ActorKind ActorKind `json:"actor_kind"`
	Actor     string    `json:"actor"`
	Action    Action    `json:"action"`
	// Target is what was acted on: an appointment, device, clinic or clinician ID.
	Target string `json:"target,omitempty"`
	// ClinicID is the site the entry belongs to, for site admins' view; "" for none.
	ClinicID string `json:"clinic_id,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Addr     string `json:"addr,omitempty"` // the client's address
}

// MaxDetail bounds Entry.Detail, in bytes.
const MaxDetail = 500

// Validate checks e before it is appended.
func (e *Entry) Validate() error {
	if e.At.IsZero() {
		return fmt.Errorf("audit entry: at is required")
	}
	if !e.Action.Valid() {
		return fmt.Errorf("audit entry: action %q is not one of audit.Actions", e.Action)
	}
	if e.Actor == "" || e.ActorKind == "" {
		return fmt.Errorf("audit entry: actor and actor_kind are required")
	}
	if len(e.Detail) > MaxDetail {
		return fmt.Errorf("audit entry: detail longer than %d bytes", MaxDetail)
	}
	return nil
}

// Query selects entries: those after AfterSeq, at or after Since, of Action and ClinicID
// when set, oldest first, at most Limit.
type Query struct {
	AfterSeq uint64
	Since    time.Time
	Action   Action
	ClinicID string
	Limit    int
}

// Matches reports whether e is selected by q, apart from AfterSeq and Limit.
func (q Query) Matches(e *Entry) bool {
	return (q.Since.IsZero() || !e.At.Before(q.Since)) && (q.Action == "" || e.Action == q.Action) &&
		(q.ClinicID == "" || e.ClinicID == q.ClinicID)
}
