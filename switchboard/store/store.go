package store

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Errors returned by every Store implementation; test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid value")
)

// Device roles.
const (
	RoleBooth  = "booth"
	RoleClinic = "clinic"
)

// Appointment statuses.
const (
	StatusScheduled = "scheduled"
	StatusWaiting   = "waiting"
	StatusInCall    = "in_call"
	StatusEnded     = "ended"
	StatusCancelled = "cancelled"
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
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ClinicID  string    `json:"clinic_id"`
	Role      string    `json:"role"`
	TokenHash string    `json:"token_hash"` // hex SHA-256 of the token, unique
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// Appointment is a booked consultation between a clinic and a patient at a device.
type Appointment struct {
	ID        string    `json:"id"`
	ClinicID  string    `json:"clinic_id"`
	DeviceID  string    `json:"device_id"`
	Patient   string    `json:"patient"` // display name only
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
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

	CreateAppointment(a *Appointment) error
	Appointment(id string) (Appointment, error)
	// UpdateAppointment reads, changes and writes one appointment in one transaction.
	// An error from fn aborts the update and is returned as is.
	UpdateAppointment(id string, fn func(*Appointment) error) (Appointment, error)
	// AppointmentsByClinic and AppointmentsByDevice return the appointments that overlap
	// [from, to): Start < to and End > from.
	AppointmentsByClinic(clinicID string, from, to time.Time) ([]Appointment, error)
	AppointmentsByDevice(deviceID string, from, to time.Time) ([]Appointment, error)

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
	switch a.Status {
	case StatusScheduled, StatusWaiting, StatusInCall, StatusEnded, StatusCancelled:
	default:
		return fmt.Errorf("appointment: status %q: %w", a.Status, ErrInvalid)
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
