package store

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/audit"
)

// Errors returned by every Store implementation; test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid value")
	// ErrDuplicate is returned by Apply for an event whose idempotency key has been
	// applied already: the event is not applied again.
	ErrDuplicate = errors.New("event already applied")
)

// MaxAppointmentLength bounds End-Start. The time index relies on it: a range query only
// has to look this far back before its start for appointments that overlap it.
const MaxAppointmentLength = 24 * time.Hour

// Clinic is a practice with its own clinicians, devices and waiting room.
type Clinic struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Clinician is a person who logs in to the web app. Usernames are unique.
type Clinician struct {
	ID           string `json:"id"`
	Username     string `json:"username"`
	Name         string `json:"name"`
	ClinicID     string `json:"clinic_id"`
	Admin        bool   `json:"admin"`
	PasswordHash []byte `json:"password_hash"`
}

// Device is a booth (or a clinic-side appliance) that authenticates with a token.
type Device struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	ClinicID string      `json:"clinic_id"`
	Role     device.Role `json:"role"`
	// TokenHash indexes the device's credential, unique: the hex SHA-256 of its bearer
	// token, or for a device enrolled by its key, "key:" and the hex SHA-256 of that key.
	TokenHash string    `json:"token_hash"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	// JoinMode, when set, overrides the booth's configured device.join_mode. It reaches
	// the booth through the push queue.
	JoinMode device.JoinMode `json:"join_mode,omitempty"`
	// PublicKey is the ed25519 key of a device enrolled with an activation code, and Room
	// where it stands (its site is its clinic).
	PublicKey []byte `json:"public_key,omitempty"`
	Room      string `json:"room,omitempty"`
	// Revoked is set once an admin has switched the device off: it is refused
	// everywhere from then on. Its credential stays indexed, so that the device is told
	// why (and its key cannot enrol again unnoticed).
	Revoked *Revocation `json:"revoked,omitempty"`
	// ConfigVersion is the effective remote config version the device last said it runs,
	// and ConfigError its last refusal or rollback of one (see ConfigStatus).
	ConfigVersion uint64 `json:"config_version,omitempty"`
	ConfigError   string `json:"config_error,omitempty"`
}

// Revocation is who switched a device off, when and why.
type Revocation struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"` // the admin's username
	Reason string    `json:"reason,omitempty"`
}

// MaxRevokeReason bounds Revocation.Reason, in characters.
const MaxRevokeReason = 200

// DeviceSettings are the settings the switchboard pushes to a device.
type DeviceSettings struct {
	JoinMode device.JoinMode `json:"join_mode"`
}

// PushSettings is the Push.Type of a DeviceSettings push.
const PushSettings = "settings"

// Push is a message queued for a device until it acknowledges it, so a device that is
// offline gets it when it reconnects. Seq rises per store; a device acknowledges
// everything up to a Seq at once.
type Push struct {
	Seq      uint64          `json:"seq"`
	DeviceID string          `json:"device_id"`
	Type     string          `json:"type"`
	Body     json.RawMessage `json:"body"`
	Queued   time.Time       `json:"queued"`
}

// EventInput is one life-cycle event for Apply.
type EventInput struct {
	// Key is a booth's idempotency key, or "" for events the switchboard makes itself.
	// An event with a key that has been applied before is refused with ErrDuplicate.
	Key      string
	Event    appointment.Event
	Actor    appointment.Actor
	At       time.Time // when it happened, by the actor's clock
	Received time.Time // when the switchboard learnt of it
	// CallID names the call an admit started, so that what is later said about the call
	// (its quality figures) can be checked against a call that really happened.
	CallID string
}

// Appointment is a booked consultation between a clinic and a patient at a device.
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
	// ExternalID identifies the appointment in the system it was imported from (e.g.
	// "fhir:Appointment/123", "ical:UID"); unique within a clinic, empty when booked here.
	ExternalID string `json:"external_id,omitempty"`
	// Service is the kind of consultation as the source system names it (FHIR serviceType).
	Service string `json:"service,omitempty"`
	// Quality is how its calls went, as the booth measured them; nil until a call ended.
	Quality *CallQuality `json:"quality,omitempty"`
	// BoothEvents counts the booth's outbox events kept in the history (applied or
	// refused), and RefusedEvents the refused ones among them. Apply keeps them in the
	// same transaction as the records, so the switchboard can bound what one device may
	// write about one appointment.
	BoothEvents   int `json:"booth_events,omitempty"`
	RefusedEvents int `json:"refused_events,omitempty"`
}

// CallQuality is running means over an appointment's calls (a reconnect makes a second).
type CallQuality struct {
	Calls         int     `json:"calls"`
	BitrateKbps   float64 `json:"bitrate_kbps"`
	PacketLossPct float64 `json:"packet_loss_pct"`
	RTTMs         float64 `json:"rtt_ms"`
	Seconds       float64 `json:"seconds"` // total, not a mean
	// CallIDs are the calls whose figures are folded in, so that each call counts once.
	CallIDs []string `json:"call_ids,omitempty"`
}

// Has reports whether the figures of call id are already folded in. q may be nil.
func (q *CallQuality) Has(id string) bool {
	return q != nil && slices.Contains(q.CallIDs, id)
}

// With returns q with one more call, id, folded into the means. q may be nil.
func (q *CallQuality) With(id string, bitrateKbps, lossPct, rttMs, seconds float64) *CallQuality {
	var n CallQuality
	if q != nil {
		n = *q
	}
	n.CallIDs = append(slices.Clip(n.CallIDs), id)
	n.Calls++
	k := float64(n.Calls)
	n.BitrateKbps += (bitrateKbps - n.BitrateKbps) / k
	n.PacketLossPct += (lossPct - n.PacketLossPct) / k
	n.RTTMs += (rttMs - n.RTTMs) / k
	n.Seconds += seconds
	return &n
}

// Session is a clinician's login, keyed by the hex SHA-256 of its token.
type Session struct {
	TokenHash   string    `json:"token_hash"`
	ClinicianID string    `json:"clinician_id"`
	Expires     time.Time `json:"expires"`
}

// Store is the switchboard's state. Create* methods assign an ID when it is empty and
// return ErrConflict for a duplicate ID or unique key. Lookups return ErrNotFound.
// Lists are sorted (clinics and devices by name then ID, appointments by start then ID).
type Store interface {
	CreateClinic(c *Clinic) error
	Clinic(id string) (Clinic, error)
	Clinics() ([]Clinic, error)

	CreateClinician(c *Clinician) error
	Clinician(id string) (Clinician, error)
	ClinicianByUsername(username string) (Clinician, error)
	// SetPassword replaces a clinician's password hash.
	SetPassword(id string, hash []byte) error

	CreateDevice(d *Device) error
	Device(id string) (Device, error)
	DeviceByTokenHash(hash string) (Device, error)
	// Devices lists the devices of a clinic, or of every clinic when clinicID is "".
	Devices(clinicID string) ([]Device, error)
	// SetDeviceToken replaces a device's token hash (ErrConflict if another device has it).
	SetDeviceToken(id, hash string) error
	TouchDevice(id string, seen time.Time) error
	// RevokeDevice records a device's revocation. It returns ErrConflict when the device
	// is revoked already (the first revocation stands) and ErrInvalid when rv has no time
	// or author. There is no way back: a device reinstated is enrolled again.
	RevokeDevice(id string, rv Revocation) (Device, error)

	CreateAppointment(a *Appointment) error
	Appointment(id string) (Appointment, error)
	// UpdateAppointment reads, changes and writes one appointment in one transaction.
	// An error from fn aborts the update and is returned as is.
	UpdateAppointment(id string, fn func(*Appointment) error) (Appointment, error)
	// Apply moves an appointment through its life cycle (package appointment): each
	// event in turn, all in one transaction, each appended to the appointment's history.
	// An illegal event returns an error matching appointment.ErrIllegal and nothing is
	// applied, with one exception: a single event with a Key (a booth's, replayed) is
	// kept in the history with Refused set and its key marked applied, so it is neither
	// lost nor retried for ever; the error is still returned.
	Apply(id string, evs ...EventInput) (Appointment, []appointment.Record, error)
	// History returns an appointment's records, oldest first.
	History(id string) ([]appointment.Record, error)
	// HistoryPage returns at most limit of an appointment's records, oldest first,
	// skipping the first offset, and how many records it has in all.
	HistoryPage(id string, offset, limit int) (recs []appointment.Record, total int, err error)
	// PruneEventKeys forgets idempotency keys applied before t (a booth retries an
	// unacknowledged event within minutes, not weeks).
	PruneEventKeys(before time.Time) (int, error)

	// SetDeviceSettings stores a device's settings and queues a PushSettings push for it,
	// in one transaction.
	SetDeviceSettings(id string, s DeviceSettings, now time.Time) (Device, Push, error)
	// Pushes returns a device's unacknowledged pushes, oldest first.
	Pushes(deviceID string) ([]Push, error)
	// AckPushes removes a device's pushes up to and including seq.
	AckPushes(deviceID string, seq uint64) error
	// QueuePush queues body for a device as a push of type typ. With replace, the
	// device's queued pushes of that type are dropped in the same transaction: only the
	// newest matters.
	QueuePush(deviceID, typ string, body []byte, replace bool, now time.Time) (Push, error)

	// PutConfigDoc stores a scope's remote config document, setting its Version to one
	// more than the scope's last (1 for the first) and returning it.
	PutConfigDoc(d ConfigDoc) (ConfigDoc, error)
	// ConfigDoc returns a scope's document (ErrNotFound when it has none).
	ConfigDoc(scope ConfigScope) (ConfigDoc, error)
	// SetDeviceConfigStatus records what a device reported about its remote config.
	SetDeviceConfigStatus(id string, st ConfigStatus) (Device, error)

	// AppointmentsByClinic and AppointmentsByDevice return the appointments that overlap
	// [from, to): Start < to and End > from.
	AppointmentsByClinic(clinicID string, from, to time.Time) ([]Appointment, error)
	AppointmentsByDevice(deviceID string, from, to time.Time) ([]Appointment, error)
	// AppointmentsByExternalID returns the clinic's appointments whose ExternalID is in
	// ids, keyed by ExternalID.
	AppointmentsByExternalID(clinicID string, ids []string) (map[string]Appointment, error)
	// ImportAppointments applies an import to one clinic in one transaction; see
	// ImportPlan. Nothing is written when it returns an error.
	ImportAppointments(clinicID string, ids []string, plan ImportPlan) ([]Appointment, error)

	// AppendAudit appends an entry to the audit log, setting its Seq (ErrInvalid when
	// the entry does not validate). The log has no way to change or delete one entry.
	AppendAudit(e *audit.Entry) error
	// Audit returns the entries q selects, oldest first.
	Audit(q audit.Query) ([]audit.Entry, error)
	// PruneAudit forgets the entries older than before (audit.Retention).
	PruneAudit(before time.Time) (int, error)
	// CreateRelease records a published firmware release (its bundle is already stored).
	CreateRelease(r *Release) error
	Release(id string) (Release, error)
	// Releases lists every release, newest first.
	Releases() ([]Release, error)
	// UpdateRelease reads, changes and writes one release in one transaction; an error
	// from fn aborts it and is returned as is.
	UpdateRelease(id string, fn func(*Release) error) (Release, error)

	CreateSession(s Session) error
	Session(tokenHash string) (Session, error)
	DeleteSession(tokenHash string) error
	// DeleteExpiredSessions removes sessions that expired at or before now.
	DeleteExpiredSessions(now time.Time) (int, error)

	Close() error
}

// NewID returns a random URL-safe ID of 22 characters (128 bits), valid per
// signalling.ValidID.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never happens on Linux; see rand.Read
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func validateAppointment(a *Appointment) error {
	if a.ClinicID == "" || a.DeviceID == "" {
		return fmt.Errorf("appointment: clinic_id and device_id are required: %w", ErrInvalid)
	}
	if !a.End.After(a.Start) {
		return fmt.Errorf("appointment: end is not after start: %w", ErrInvalid)
	}
	if a.End.Sub(a.Start) > MaxAppointmentLength {
		return fmt.Errorf("appointment: longer than %s: %w", MaxAppointmentLength, ErrInvalid)
	}
	if !a.Status.Valid() {
		return fmt.Errorf("appointment: status %q: %w", a.Status, ErrInvalid)
	}
	return nil
}

// applyEvents runs evs through the life cycle from a's status, updating a and returning
// the records. It does not touch storage.
func applyEvents(a *Appointment, evs []EventInput) ([]appointment.Record, error) {
	recs := make([]appointment.Record, 0, len(evs))
	for _, in := range evs {
		from := a.Status
		to, err := appointment.Next(from, in.Event, in.Actor.Kind)
		if err != nil {
			return recs, fmt.Errorf("appointment %s: %w", a.ID, err)
		}
		recs = append(recs, appointment.Record{Key: in.Key, AppointmentID: a.ID, Event: in.Event, From: from, To: to,
			Actor: in.Actor, At: in.At.UTC(), Received: in.Received.UTC(), CallID: in.CallID})
		a.Status = to
		if in.Key != "" {
			a.BoothEvents++
		}
		if !in.Received.IsZero() {
			a.UpdatedAt = in.Received.UTC()
		} else {
			a.UpdatedAt = in.At.UTC()
		}
	}
	return recs, nil
}

// refusedRecord is the history entry of a keyed event that was no longer legal. It counts
// the record on a, which the caller writes back.
func refusedRecord(a *Appointment, in EventInput, err error) appointment.Record {
	a.BoothEvents++
	a.RefusedEvents++
	s := a.Status
	return appointment.Record{Key: in.Key, AppointmentID: a.ID, Event: in.Event, From: s, To: s,
		Actor: in.Actor, At: in.At.UTC(), Received: in.Received.UTC(), Refused: err.Error()}
}

func validateRevocation(rv Revocation) error {
	if rv.At.IsZero() || rv.By == "" {
		return fmt.Errorf("revocation: at and by are required: %w", ErrInvalid)
	}
	if len([]rune(rv.Reason)) > MaxRevokeReason {
		return fmt.Errorf("revocation: reason longer than %d characters: %w", MaxRevokeReason, ErrInvalid)
	}
	return nil
}

func validateSettings(s DeviceSettings) error {
	if !s.JoinMode.Valid() {
		return fmt.Errorf("join_mode %q is not %q or %q: %w", s.JoinMode, device.JoinAuto, device.JoinButton, ErrInvalid)
	}
	return nil
}

func overlaps(a *Appointment, from, to time.Time) bool {
	return a.Start.Before(to) && a.End.After(from)
}

func sortAppointments(as []Appointment) {
	sort.Slice(as, func(i, j int) bool {
		if !as[i].Start.Equal(as[j].Start) {
			return as[i].Start.Before(as[j].Start)
		}
		return as[i].ID < as[j].ID
	})
}

func sortClinics(cs []Clinic) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Name != cs[j].Name {
			return cs[i].Name < cs[j].Name
		}
		return cs[i].ID < cs[j].ID
	})
}

func sortDevices(ds []Device) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Name != ds[j].Name {
			return ds[i].Name < ds[j].Name
		}
		return ds[i].ID < ds[j].ID
	})
}
