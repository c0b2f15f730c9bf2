package signalling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carebooth/carebooth/appointment"
)

// Version is the protocol version this package speaks.
const Version = 1

// MaxMessageBytes bounds one encoded message. An SDP offer with audio, video and a data
// channel is 3 to 8 KiB; 64 KiB leaves room for many candidates without letting a peer
// make the switchboard buffer megabytes.
const MaxMessageBytes = 64 << 10

// Type names a message.
type Type string

// The message types of version 1.
const (
	TypeHello     Type = "hello"     // any -> switchboard, first message on a connection
	TypeWelcome   Type = "welcome"   // switchboard -> any, answer to hello
	TypeSchedule  Type = "schedule"  // switchboard -> device, its upcoming appointments
	TypeArrive    Type = "arrive"    // device -> switchboard, enter the waiting room
	TypeLeave     Type = "leave"     // device -> switchboard, leave the waiting room
	TypeQueue     Type = "queue"     // switchboard -> clinician, the waiting room now
	TypeAdmit     Type = "admit"     // clinician -> switchboard, start a call with a waiting patient
	TypeCall      Type = "call"      // switchboard -> both parties, a call has started
	TypeOffer     Type = "offer"     // offerer -> answerer, relayed
	TypeAnswer    Type = "answer"    // answerer -> offerer, relayed
	TypeCandidate Type = "candidate" // either party -> the other, relayed
	TypeEnd       Type = "end"       // either party -> the other; switchboard -> both
	TypeError     Type = "error"     // switchboard -> sender of a refused message

	// Added for appointments (still version 1: a peer that does not know them never gets
	// them unless it sends their counterparts).
	TypeEvent       Type = "event"        // device -> switchboard, one event from its outbox
	TypeEventAck    Type = "event_ack"    // switchboard -> device, that event is applied (or refused) for good
	TypeSettings    Type = "settings"     // switchboard -> device, settings an admin changed
	TypeSettingsAck Type = "settings_ack" // device -> switchboard, settings up to seq are applied
	TypeOutcome     Type = "outcome"      // clinician or clinic device -> switchboard, record a no-show or phone call
	TypeQuality     Type = "quality"      // device -> switchboard, how a call went, when it ends
	TypeQualityAck  Type = "quality_ack"  // switchboard -> device, that call's figures are kept (or never will be)
	TypeHelp        Type = "help"         // device -> switchboard -> its clinic's clinicians: the Help button
	TypeConfig      Type = "config"       // switchboard -> device, its effective remote config document
	TypeConfigAck   Type = "config_ack"   // device -> switchboard, a config applied, refused or rolled back

	// Added for the staff station (still version 1: only a clinician whose hello asks for
	// it is sent it).
	TypeDevices Type = "devices" // switchboard -> staff station, its site's devices and their live state
)

// Role says who is on the other end of a connection.
type Role string

// Connection roles.
const (
	RoleDevice    Role = "device"
	RoleClinician Role = "clinician"
)

// CallRole says which side of the SDP exchange a party takes.
type CallRole string

// Call roles: the clinician's side offers, the booth answers.
const (
	CallOfferer  CallRole = "offerer"
	CallAnswerer CallRole = "answerer"
)

// Error codes carried by an Error message.
const (
	CodeBadMessage         = "bad_message"
	CodeTooLarge           = "too_large"
	CodeUnsupportedVersion = "unsupported_version"
	CodeOutOfOrder         = "out_of_order"
	CodeNotInCall          = "not_in_call"
	CodeUnknownAppointment = "unknown_appointment"
	CodeForbidden          = "forbidden"
	CodeConflict           = "conflict"
	CodeInternal           = "internal"
	// CodeRevoked is the last message to a device an admin has revoked, before the
	// switchboard closes its connection: it should stop reconnecting often.
	CodeRevoked = "revoked"
)

// Hello opens a connection. Agent is free text for logs ("boothd 1.2.0", a browser's UA).
type Hello struct {
	Role  Role   `json:"role"`
	Agent string `json:"agent,omitempty"`
	// Staff, from a clinician, asks for the staff station's view: the site's devices
	// (TypeDevices) now and whenever one changes.
	Staff bool `json:"staff,omitempty"`
}

// Welcome answers Hello with who the switchboard thinks the peer is.
type Welcome struct {
	Role       Role   `json:"role"`
	ID         string `json:"id"` // device or clinician ID
	ClinicID   string `json:"clinic_id"`
	ClinicName string `json:"clinic_name,omitempty"`
	// ClinicPhone is the clinic's phone number, for a booth's fault screen ("call 01632
	// 960 123").
	ClinicPhone string    `json:"clinic_phone,omitempty"`
	ServerTime  time.Time `json:"server_time"`
}

// Appointment is an appointment as devices and clinicians see it.
type Appointment struct {
	ID         string `json:"id"`
	ClinicID   string `json:"clinic_id"`
	ClinicName string `json:"clinic_name,omitempty"`
	// ClinicPhone is the clinic's phone number (for the booth's fault screen).
	ClinicPhone string             `json:"clinic_phone,omitempty"`
	DeviceID    string             `json:"device_id"`
	Patient     string             `json:"patient"` // display name only, never more
	Start       time.Time          `json:"start"`
	End         time.Time          `json:"end"`
	Status      appointment.Status `json:"status"`
}

// Schedule replaces a device's list of upcoming appointments.
type Schedule struct {
	Appointments []Appointment `json:"appointments"`
}

// Arrive puts the sending device in the waiting room for an appointment.
type Arrive struct {
	AppointmentID string `json:"appointment_id"`
}

// Leave takes the sending device out of the waiting room.
type Leave struct {
	AppointmentID string `json:"appointment_id"`
}

// QueueEntry is one patient in a waiting room.
type QueueEntry struct {
	AppointmentID string    `json:"appointment_id"`
	DeviceID      string    `json:"device_id"`
	Patient       string    `json:"patient"`
	Start         time.Time `json:"start"` // booked start
	Since         time.Time `json:"since"` // arrived in the waiting room
	InCall        bool      `json:"in_call,omitempty"`
}

// Queue is a clinic's waiting room, longest waiting first.
type Queue struct {
	ClinicID string       `json:"clinic_id"`
	Entries  []QueueEntry `json:"entries"`
}

// Admit asks the switchboard to start a call with a waiting patient.
type Admit struct {
	AppointmentID string `json:"appointment_id"`
}

// ICEServer is a STUN or TURN server, in the shape of the W3C RTCIceServer dictionary.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Call tells a party that a call has started and which side of the exchange it takes.
type Call struct {
	CallID        string      `json:"call_id"`
	AppointmentID string      `json:"appointment_id"`
	Role          CallRole    `json:"role"`
	Peer          string      `json:"peer,omitempty"` // display name of the other party
	ICEServers    []ICEServer `json:"ice_servers,omitempty"`
}

// SDP carries an offer or an answer.
type SDP struct {
	CallID string `json:"call_id"`
	SDP    string `json:"sdp"`
}

// Candidate carries one trickled ICE candidate, in the shape of RTCIceCandidateInit.
// An empty Candidate string marks the end of candidates.
type Candidate struct {
	CallID           string  `json:"call_id"`
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// End ends a call. Reason is one of the End* reasons.
type End struct {
	CallID string `json:"call_id"`
	Reason string `json:"reason"`
}

// End reasons.
const (
	EndHangup   = "hangup"    // a person pressed End
	EndPeerLost = "peer_lost" // the other party's connection went away
	EndFailed   = "failed"    // the media connection failed
	EndRevoked  = "revoked"   // an admin revoked the device in the call
)

// Error reports a refused message. Ref is the seq of the refused message, 0 when it could
// not be read.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     uint64 `json:"ref,omitempty"`
}

// Envelope is the outer frame of every message.
type Envelope struct {
	V    int             `json:"v"`
	Type Type            `json:"type"`
	Seq  uint64          `json:"seq"`
	Body json.RawMessage `json:"body,omitempty"`
}

// ProtocolError is a message that cannot be accepted. Code is one of the Code* values.
type ProtocolError struct {
	Code string
	Seq  uint64 // seq of the offending message, 0 if unknown
	Msg  string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Msg }

// ErrProtocol matches every *ProtocolError with errors.Is.
var ErrProtocol = errors.New("signalling protocol error")

// Is makes errors.Is(err, ErrProtocol) true for protocol errors.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

func protoErr(code string, seq uint64, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Seq: seq, Msg: fmt.Sprintf(format, args...)}
}

// validator is implemented by every body type.
type validator interface{ validate() error }

// newBody returns a pointer to the zero body for t.
func newBody(t Type) (validator, bool) {
	switch t {
	case TypeHello:
		return &Hello{}, true
	case TypeWelcome:
		return &Welcome{}, true
	case TypeSchedule:
		return &Schedule{}, true
	case TypeArrive:
		return &Arrive{}, true
	case TypeLeave:
		return &Leave{}, true
	case TypeQueue:
		return &Queue{}, true
	case TypeAdmit:
		return &Admit{}, true
	case TypeCall:
		return &Call{}, true
	case TypeOffer, TypeAnswer:
		return &SDP{}, true
	case TypeCandidate:
		return &Candidate{}, true
	case TypeEnd:
		return &End{}, true
	case TypeError:
		return &Error{}, true
	case TypeEvent:
		return &Event{}, true
	case TypeEventAck:
		return &EventAck{}, true
	case TypeSettings:
		return &Settings{}, true
	case TypeSettingsAck:
		return &SettingsAck{}, true
	case TypeConfig:
		return &Config{}, true
	case TypeConfigAck:
		return &ConfigAck{}, true
	case TypeQuality:
		return &Quality{}, true
	case TypeQualityAck:
		return &QualityAck{}, true
	case TypeHelp:
		return &Help{}, true
	case TypeOutcome:
		return &Outcome{}, true
	case TypeHeartbeat:
		return &Heartbeat{}, true
	case TypeDiagnose:
		return &Diagnose{}, true
	case TypeDiagnosis:
		return &Diagnosis{}, true
	case TypeRestart:
		return &Restart{}, true
	case TypeDevices:
		return &Devices{}, true
	}
	return nil, false
}

// TypeOf returns the message type of a body value, for encoding.
func TypeOf(body any) (Type, error) {
	switch body.(type) {
	case *Hello, Hello:
		return TypeHello, nil
	case *Welcome, Welcome:
		return TypeWelcome, nil
	case *Schedule, Schedule:
		return TypeSchedule, nil
	case *Arrive, Arrive:
		return TypeArrive, nil
	case *Leave, Leave:
		return TypeLeave, nil
	case *Queue, Queue:
		return TypeQueue, nil
	case *Admit, Admit:
		return TypeAdmit, nil
	case *Call, Call:
		return TypeCall, nil
	case *Candidate, Candidate:
		return TypeCandidate, nil
	case *End, End:
		return TypeEnd, nil
	case *Error, Error:
		return TypeError, nil
	case *Event, Event:
		return TypeEvent, nil
	case *EventAck, EventAck:
		return TypeEventAck, nil
	case *Settings, Settings:
		return TypeSettings, nil
	case *SettingsAck, SettingsAck:
		return TypeSettingsAck, nil
	case *Config, Config:
		return TypeConfig, nil
	case *ConfigAck, ConfigAck:
		return TypeConfigAck, nil
	case *QualityAck, QualityAck:
		return TypeQualityAck, nil
	case *Outcome, Outcome:
		return TypeOutcome, nil
	case *Quality, Quality:
		return TypeQuality, nil
	case *Help, Help:
		return TypeHelp, nil
	case *Heartbeat, Heartbeat:
		return TypeHeartbeat, nil
	case *Diagnose, Diagnose:
		return TypeDiagnose, nil
	case *Diagnosis, Diagnosis:
		return TypeDiagnosis, nil
	case *Restart, Restart:
		return TypeRestart, nil
	case *Devices, Devices:
		return TypeDevices, nil
	}
	return "", fmt.Errorf("signalling: no message type for %T (offers and answers need an explicit type)", body)
}

// Parse decodes and validates one message. The returned body is a pointer to the typed
// body (*Hello, *SDP, ...). Every failure is a *ProtocolError.
func Parse(data []byte) (Envelope, any, error) {
	var env Envelope
	if len(data) > MaxMessageBytes {
		return env, nil, protoErr(CodeTooLarge, 0, "message is %d bytes, the limit is %d", len(data), MaxMessageBytes)
	}
	if err := strictUnmarshal(data, &env); err != nil {
		return env, nil, protoErr(CodeBadMessage, 0, "envelope: %v", err)
	}
	if env.V != Version {
		return env, nil, protoErr(CodeUnsupportedVersion, env.Seq, "version %d is not supported, this switchboard speaks version %d", env.V, Version)
	}
	if env.Seq == 0 {
		return env, nil, protoErr(CodeBadMessage, 0, "envelope: seq is missing or 0, it must start at 1")
	}
	body, ok := newBody(env.Type)
	if !ok {
		return env, nil, protoErr(CodeBadMessage, env.Seq, "unknown message type %q", env.Type)
	}
	if len(env.Body) == 0 {
		return env, nil, protoErr(CodeBadMessage, env.Seq, "%s: body is missing", env.Type)
	}
	if err := strictUnmarshal(env.Body, body); err != nil {
		return env, nil, protoErr(CodeBadMessage, env.Seq, "%s body: %v", env.Type, err)
	}
	if err := body.validate(); err != nil {
		return env, nil, protoErr(CodeBadMessage, env.Seq, "%s body: %v", env.Type, err)
	}
	return env, body, nil
}

// Encode frames a body as a message with the given seq. Offers and answers share the SDP
// body, so their type is passed explicitly; EncodeBody infers it for the others.
func Encode(t Type, seq uint64, body any) ([]byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s body: %w", t, err)
	}
	data, err := json.Marshal(Envelope{V: Version, Type: t, Seq: seq, Body: raw})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	if len(data) > MaxMessageBytes {
		return nil, protoErr(CodeTooLarge, seq, "%s message is %d bytes, the limit is %d", t, len(data), MaxMessageBytes)
	}
	return data, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// validID reports whether s looks like an ID the switchboard issues: 1 to 64 characters of
// letters, digits, '-' and '_'.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// ValidID reports whether s has the shape of a Carebooth ID (appointment, call, device).
func ValidID(s string) bool { return validID(s) }

func needID(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s is missing", field)
	}
	if !validID(s) {
		return fmt.Errorf("%s %q is not a valid ID (1-64 letters, digits, '-' or '_')", field, s)
	}
	return nil
}

func (m *Hello) validate() error {
	if m.Role != RoleDevice && m.Role != RoleClinician {
		return fmt.Errorf("role %q is not %q or %q", m.Role, RoleDevice, RoleClinician)
	}
	if m.Staff && m.Role != RoleClinician {
		return errors.New("staff is for clinicians: a device has no staff view")
	}
	if len(m.Agent) > 256 {
		return errors.New("agent is longer than 256 characters")
	}
	return nil
}

func (m *Welcome) validate() error {
	if m.Role != RoleDevice && m.Role != RoleClinician {
		return fmt.Errorf("role %q is not %q or %q", m.Role, RoleDevice, RoleClinician)
	}
	return needID("id", m.ID)
}

func (a *Appointment) validate() error {
	if err := needID("id", a.ID); err != nil {
		return err
	}
	if a.Start.IsZero() || a.End.IsZero() {
		return errors.New("start and end are required")
	}
	if !a.End.After(a.Start) {
		return fmt.Errorf("end %s is not after start %s", a.End.Format(time.RFC3339), a.Start.Format(time.RFC3339))
	}
	return nil
}

func (m *Schedule) validate() error {
	for i := range m.Appointments {
		if err := m.Appointments[i].validate(); err != nil {
			return fmt.Errorf("appointments[%d]: %w", i, err)
		}
	}
	return nil
}

func (m *Arrive) validate() error { return needID("appointment_id", m.AppointmentID) }
func (m *Leave) validate() error  { return needID("appointment_id", m.AppointmentID) }
func (m *Admit) validate() error  { return needID("appointment_id", m.AppointmentID) }
func (m *Queue) validate() error  { return nil }

func (m *Call) validate() error {
	if err := needID("call_id", m.CallID); err != nil {
		return err
	}
	if m.Role != CallOfferer && m.Role != CallAnswerer {
		return fmt.Errorf("role %q is not %q or %q", m.Role, CallOfferer, CallAnswerer)
	}
	return nil
}

func (m *SDP) validate() error {
	if err := needID("call_id", m.CallID); err != nil {
		return err
	}
	if !strings.HasPrefix(m.SDP, "v=0") {
		return errors.New("sdp does not start with \"v=0\"")
	}
	return nil
}

func (m *Candidate) validate() error {
	if err := needID("call_id", m.CallID); err != nil {
		return err
	}
	if m.Candidate != "" && !strings.HasPrefix(m.Candidate, "candidate:") {
		return errors.New("candidate does not start with \"candidate:\"")
	}
	return nil
}

func (m *End) validate() error {
	if err := needID("call_id", m.CallID); err != nil {
		return err
	}
	switch m.Reason {
	case EndHangup, EndPeerLost, EndFailed, EndRevoked:
		return nil
	}
	return fmt.Errorf("reason %q is not one of %q, %q, %q, %q", m.Reason, EndHangup, EndPeerLost, EndFailed, EndRevoked)
}

func (m *Error) validate() error {
	if m.Code == "" {
		return errors.New("code is missing")
	}
	return nil
}

// Help is the booth's Help button: Requested true when pressed, false when the request is
// over (staff came, or it was cancelled). A booth sends it without DeviceID, DeviceName and
// AcknowledgedBy; the switchboard fills them in when it passes it on to the clinic's
// clinicians, and sends it again, to them and the booth, once a member of staff has
// acknowledged it ("I'm coming"): AcknowledgedBy is then their name.
type Help struct {
	Requested      bool   `json:"requested"`
	DeviceID       string `json:"device_id,omitempty"`
	DeviceName     string `json:"device_name,omitempty"`
	AcknowledgedBy string `json:"acknowledged_by,omitempty"`
}

// MaxNameLen bounds a person's or device's display name in a message.
const MaxNameLen = 200

func (m *Help) validate() error {
	if m.DeviceID != "" && !validID(m.DeviceID) {
		return fmt.Errorf("device_id %q is not a valid ID", m.DeviceID)
	}
	if err := boundedText("device_name", m.DeviceName, MaxNameLen); err != nil {
		return err
	}
	if err := boundedText("acknowledged_by", m.AcknowledgedBy, MaxNameLen); err != nil {
		return err
	}
	if m.AcknowledgedBy != "" && !m.Requested {
		return errors.New("acknowledged_by is set on a help request that is over: only a standing one is acknowledged")
	}
	return nil
}
