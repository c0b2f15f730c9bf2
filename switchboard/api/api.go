package api

import (
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/audit"
)

// Error codes of Error.Code.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeMediaType    = "unsupported_media_type"
	CodeRateLimited  = "rate_limited"
	CodeInternal     = "internal"
	// CodeRevoked refuses a device an admin has revoked (403), whichever credential it
	// presents: the device should show so and stop reconnecting often.
	CodeRevoked = "revoked"
)

// Error is a refusal, the body of every error response as {"error": Error}.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field is the request field at fault; for an import file, the JSON path.
	Field string `json:"field,omitempty"`
	// Line is the line of an iCalendar import file at fault.
	Line int `json:"line,omitempty"`
}

// ErrorBody is the body of an error response.
type ErrorBody struct {
	Error Error `json:"error"`
}

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Login answers a successful login.
type Login struct {
	Token     string    `json:"token"`
	Expires   time.Time `json:"expires"`
	Clinician Clinician `json:"clinician"`
}

// Me is who a token belongs to: exactly one field is set.
type Me struct {
	Clinician *Clinician `json:"clinician,omitempty"`
	Device    *Device    `json:"device,omitempty"`
}

// Clinic is a practice with its own clinicians, devices and waiting room.
type Clinic struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// NewClinic is the body of POST /api/v1/clinics.
type NewClinic struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Clinics answers GET /api/v1/clinics.
type Clinics struct {
	Clinics []Clinic `json:"clinics"`
}

// Clinician is a clinician account, never with its password.
type Clinician struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	ClinicID string `json:"clinic_id"`
	Admin    bool   `json:"admin"`
}

// NewClinician is the body of POST /api/v1/clinicians. ClinicID defaults to the
// admin's own clinic.
type NewClinician struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Name     string `json:"name"`
	ClinicID string `json:"clinic_id,omitempty"`
	Admin    bool   `json:"admin"`
}

// Device is a booth or clinic appliance, never with its token.
type Device struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	ClinicID  string      `json:"clinic_id"`
	Role      device.Role `json:"role"`
	CreatedAt time.Time   `json:"created_at"`
	LastSeen  *time.Time  `json:"last_seen,omitempty"`
	// JoinMode is the mode set remotely; empty: the booth's own config.
	JoinMode device.JoinMode `json:"join_mode,omitempty"`
	// Room is where a device enrolled with an activation code stands, and KeyFingerprint
	// its key's ("SHA256:..."); both empty for a device with a token.
	Room           string `json:"room,omitempty"`
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// ConfigVersion is the effective remote config version the device runs (0: none
	// applied yet), and ConfigError its last refusal or rollback ("refused version 4:
	// ..."), empty once a version is applied.
	ConfigVersion uint64 `json:"config_version,omitempty"`
	ConfigError   string `json:"config_error,omitempty"`
	// Revoked is set once an admin has switched the device off.
	Revoked *Revocation `json:"revoked,omitempty"`
	// Online is true while heartbeats come (none for 90 s: offline); Health is the latest
	// heartbeat since the switchboard started, absent before the first.
	Online bool          `json:"online"`
	Health *DeviceHealth `json:"health,omitempty"`
}

// Revocation is who switched a device off, when and why.
type Revocation struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"` // the admin's username
	Reason string    `json:"reason,omitempty"`
}

// RevokeDevice is the body of POST /api/v1/devices/{id}/revoke.
type RevokeDevice struct {
	Reason string `json:"reason,omitempty"`
}

// DeviceRevoked answers it: the device, and how many of its signalling connections
// were closed (and so calls ended).
type DeviceRevoked struct {
	Device       Device `json:"device"`
	Disconnected int    `json:"disconnected"`
}

// DeviceHealth is a device's latest heartbeat and when the switchboard received it.
type DeviceHealth struct {
	ReceivedAt time.Time            `json:"received_at"`
	Heartbeat  signalling.Heartbeat `json:"heartbeat"`
}

// NewDevice is the body of POST /api/v1/devices. Role defaults to a booth.
type NewDevice struct {
	Name     string      `json:"name"`
	ClinicID string      `json:"clinic_id"`
	Role     device.Role `json:"role"`
}

// DeviceCreated answers POST /api/v1/devices: the device and its token, shown once.
type DeviceCreated struct {
	Device Device `json:"device"`
	Token  string `json:"token"`
}

// Devices answers GET /api/v1/devices.
type Devices struct {
	Devices []Device `json:"devices"`
}

// DeviceSettings is the body of PUT /api/v1/devices/{id}/settings.
type DeviceSettings struct {
	JoinMode device.JoinMode `json:"join_mode"`
}

// DeviceSettingsChanged answers it: the device, and whether the push reached it now
// (else it does when the device next connects).
type DeviceSettingsChanged struct {
	Device   Device          `json:"device"`
	JoinMode device.JoinMode `json:"join_mode"`
	SentNow  bool            `json:"sent_now"`
}

// Appointment is a booked consultation.
type Appointment struct {
	ID        string             `json:"id"`
	ClinicID  string             `json:"clinic_id"`
	DeviceID  string             `json:"device_id"`
	Patient   string             `json:"patient"` // display name only
	Start     time.Time          `json:"start"`
	End       time.Time          `json:"end"`
	Status    appointment.Status `json:"status"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	// ExternalID and Service are set for imported appointments.
	ExternalID string `json:"external_id,omitempty"`
	Service    string `json:"service,omitempty"`
	// Quality is how its calls went, as the booth measured them; nil until a call ended.
	Quality *CallQuality `json:"quality,omitempty"`
	// BoothEvents counts the booth's events kept in its history, RefusedEvents the
	// refused ones among them.
	BoothEvents   int `json:"booth_events,omitempty"`
	RefusedEvents int `json:"refused_events,omitempty"`
}

// CallQuality is running means over an appointment's calls (a reconnect makes a second).
type CallQuality struct {
	Calls         int     `json:"calls"`
	BitrateKbps   float64 `json:"bitrate_kbps"`
	PacketLossPct float64 `json:"packet_loss_pct"`
	RTTMs         float64 `json:"rtt_ms"`
	Seconds       float64 `json:"seconds"` // total time the media flowed, not a mean
	// CallIDs are the calls counted, each once.
	CallIDs []string `json:"call_ids,omitempty"`
}

// NewAppointment is the body of POST /api/v1/appointments. ClinicID defaults to the
// clinician's.
type NewAppointment struct {
	ClinicID string    `json:"clinic_id,omitempty"`
	DeviceID string    `json:"device_id"`
	Patient  string    `json:"patient"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// Appointments answers GET /api/v1/appointments.
type Appointments struct {
	Appointments []Appointment `json:"appointments"`
}

// History answers GET /api/v1/appointments/{id}/events, a page at a time: NextOffset is
// set when more records follow.
type History struct {
	AppointmentID string               `json:"appointment_id"`
	Status        appointment.Status   `json:"status"`
	Events        []appointment.Record `json:"events"`
	Total         int                  `json:"total"`
	NextOffset    *int                 `json:"next_offset,omitempty"`
}

// Enrolment is a device waiting for approval, as GET /api/v1/enrolments lists it.
type Enrolment struct {
	Code           string    `json:"code"` // as the device's screen shows it
	Name           string    `json:"name"`
	Version        string    `json:"version"`
	Source         string    `json:"source"` // the address it asked from
	KeyFingerprint string    `json:"key_fingerprint"`
	Requested      time.Time `json:"requested"`
	Expires        time.Time `json:"expires"`
}

// Enrolments answers GET /api/v1/enrolments.
type Enrolments struct {
	Enrolments []Enrolment `json:"enrolments"`
}

// AuditEntry is one entry of the audit log (package switchboard/audit).
type AuditEntry = audit.Entry

// AuditLog answers GET /api/v1/audit, oldest first: NextAfter, when set, is the after=
// of the next page.
type AuditLog struct {
	Entries   []AuditEntry `json:"entries"`
	NextAfter *uint64      `json:"next_after,omitempty"`
}

// DeviceDetail answers GET /api/v1/devices/{id}.
type DeviceDetail struct {
	Device Device `json:"device"`
}

// CodeDeviceOffline refuses a request the device itself must answer (a self-test, its
// log) while it has no signalling connection (409).
const CodeDeviceOffline = "device_offline"

// CodeTimeout: the device did not answer in time (504).
const CodeTimeout = "timeout"

// SelfTest answers POST /api/v1/devices/{id}/selftest: each check the device ran, and
// whether all passed.
type SelfTest struct {
	Device string                   `json:"device"`
	Passed bool                     `json:"passed"`
	Checks []signalling.CheckResult `json:"checks"`
	// Error says why the device ran no checks (one already running).
	Error string `json:"error,omitempty"`
}

// DeviceLogs answers GET /api/v1/devices/{id}/logs: the device's most recent log
// lines, oldest first, as it keeps them in memory (nothing is written to disk for this).
type DeviceLogs struct {
	Device string               `json:"device"`
	Lines  []signalling.LogLine `json:"lines"`
}
