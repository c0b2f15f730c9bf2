package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/switchboard/audit"
)

// Memory is a Store held in maps, for tests and demos. It loses everything on exit.
type Memory struct {
	mu           sync.Mutex
	clinics      map[string]Clinic
	clinicians   map[string]Clinician
	devices      map[string]Device
	appointments map[string]Appointment
	sessions     map[string]Session
	history      map[string][]appointment.Record
	eventKeys    map[string]appliedKey
	pushes       map[string][]Push
	pushSeq      uint64
	audit        []audit.Entry
	auditSeq     uint64
	configDocs   map[ConfigScope]ConfigDoc
	releases     map[string]Release
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		clinics:      map[string]Clinic{},
		clinicians:   map[string]Clinician{},
		devices:      map[string]Device{},
		appointments: map[string]Appointment{},
		sessions:     map[string]Session{},
		history:      map[string][]appointment.Record{},
		eventKeys:    map[string]appliedKey{},
		pushes:       map[string][]Push{},
		configDocs:   map[ConfigScope]ConfigDoc{},
		releases:     map[string]Release{},
	}
}

func (m *Memory) CreateClinic(c *Clinic) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.ID == "" {
		c.ID = NewID()
	}
	if _, ok := m.clinics[c.ID]; ok {
		return fmt.Errorf("clinic %s: %w", c.ID, ErrConflict)
	}
	m.clinics[c.ID] = *c
	return nil
}

func (m *Memory) Clinic(id string) (Clinic, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clinics[id]
	if !ok {
		return Clinic{}, fmt.Errorf("clinic %s: %w", id, ErrNotFound)
	}
	return c, nil
}

func (m *Memory) Clinics() ([]Clinic, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Clinic, 0, len(m.clinics))
	for _, c := range m.clinics {
		out = append(out, c)
	}
	sortClinics(out)
	return out, nil
}

func (m *Memory) CreateClinician(c *Clinician) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.ID == "" {
		c.ID = NewID()
	}
	if _, ok := m.clinicians[c.ID]; ok {
		return fmt.Errorf("clinician %s: %w", c.ID, ErrConflict)
	}
	for _, o := range m.clinicians {
		if o.Username == c.Username {
			return fmt.Errorf("username %q is taken: %w", c.Username, ErrConflict)
		}
	}
	cc := *c
	cc.PasswordHash = bytes.Clone(c.PasswordHash)
	m.clinicians[c.ID] = cc
	return nil
}

func (m *Memory) Clinician(id string) (Clinician, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clinicians[id]
	if !ok {
		return Clinician{}, fmt.Errorf("clinician %s: %w", id, ErrNotFound)
	}
	c.PasswordHash = bytes.Clone(c.PasswordHash)
	return c, nil
}

func (m *Memory) ClinicianByUsername(username string) (Clinician, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.clinicians {
		if c.Username == username {
			c.PasswordHash = bytes.Clone(c.PasswordHash)
			return c, nil
		}
	}
	return Clinician{}, fmt.Errorf("clinician %q: %w", username, ErrNotFound)
}

func (m *Memory) SetPassword(id string, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clinicians[id]
	if !ok {
		return fmt.Errorf("clinician %s: %w", id, ErrNotFound)
	}
	c.PasswordHash = bytes.Clone(hash)
	m.clinicians[id] = c
	return nil
}

func (m *Memory) CreateDevice(d *Device) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d.ID == "" {
		d.ID = NewID()
	}
	if _, ok := m.devices[d.ID]; ok {
		return fmt.Errorf("device %s: %w", d.ID, ErrConflict)
	}
	if err := m.tokenFree(d.ID, d.TokenHash); err != nil {
		return err
	}
	m.devices[d.ID] = *d
	return nil
}

// tokenFree must hold mu.
func (m *Memory) tokenFree(id, hash string) error {
	if hash == "" {
		return nil
	}
	for _, o := range m.devices {
		if o.ID != id && o.TokenHash == hash {
			return fmt.Errorf("device token: %w", ErrConflict)
		}
	}
	return nil
}

func (m *Memory) Device(id string) (Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return Device{}, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	return d, nil
}

func (m *Memory) DeviceByTokenHash(hash string) (Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if hash != "" {
		for _, d := range m.devices {
			if d.TokenHash == hash {
				return d, nil
			}
		}
	}
	return Device{}, fmt.Errorf("device token: %w", ErrNotFound)
}

func (m *Memory) Devices(clinicID string) ([]Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Device{}
	for _, d := range m.devices {
		if clinicID == "" || d.ClinicID == clinicID {
			out = append(out, d)
		}
	}
	sortDevices(out)
	return out, nil
}

func (m *Memory) SetDeviceToken(id, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	if err := m.tokenFree(id, hash); err != nil {
		return err
	}
	d.TokenHash = hash
	m.devices[id] = d
	return nil
}

func (m *Memory) RevokeDevice(id string, rv Revocation) (Device, error) {
	if err := validateRevocation(rv); err != nil {
		return Device{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return Device{}, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	if d.Revoked != nil {
		return d, fmt.Errorf("device %s revoked already: %w", id, ErrConflict)
	}
	rv.At = rv.At.UTC()
	d.Revoked = &rv
	m.devices[id] = d
	return d, nil
}

func (m *Memory) TouchDevice(id string, seen time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	d.LastSeen = seen
	m.devices[id] = d
	return nil
}

func (m *Memory) CreateAppointment(a *Appointment) error {
	if err := validateAppointment(a); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.ID == "" {
		a.ID = NewID()
	}
	if _, ok := m.appointments[a.ID]; ok {
		return fmt.Errorf("appointment %s: %w", a.ID, ErrConflict)
	}
	if err := m.externalFree(a); err != nil {
		return err
	}
	m.appointments[a.ID] = *a
	return nil
}

func (m *Memory) Appointment(id string) (Appointment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.appointments[id]
	if !ok {
		return Appointment{}, fmt.Errorf("appointment %s: %w", id, ErrNotFound)
	}
	return a, nil
}

func (m *Memory) UpdateAppointment(id string, fn func(*Appointment) error) (Appointment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.appointments[id]
	if !ok {
		return Appointment{}, fmt.Errorf("appointment %s: %w", id, ErrNotFound)
	}
	if err := fn(&a); err != nil {
		return Appointment{}, err
	}
	a.ID = id
	if err := validateAppointment(&a); err != nil {
		return Appointment{}, err
	}
	if err := m.externalFree(&a); err != nil {
		return Appointment{}, err
	}
	m.appointments[id] = a
	return a, nil
}

func (m *Memory) appointmentsWhere(match func(*Appointment) bool, from, to time.Time) []Appointment {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Appointment{}
	for _, a := range m.appointments {
		if match(&a) && overlaps(&a, from, to) {
			out = append(out, a)
		}
	}
	sortAppointments(out)
	return out
}

func (m *Memory) AppointmentsByClinic(clinicID string, from, to time.Time) ([]Appointment, error) {
	return m.appointmentsWhere(func(a *Appointment) bool { return a.ClinicID == clinicID }, from, to), nil
}

func (m *Memory) AppointmentsByDevice(deviceID string, from, to time.Time) ([]Appointment, error) {
	return m.appointmentsWhere(func(a *Appointment) bool { return a.DeviceID == deviceID }, from, to), nil
}

func (m *Memory) CreateSession(s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.TokenHash]; ok {
		return fmt.Errorf("session: %w", ErrConflict)
	}
	m.sessions[s.TokenHash] = s
	return nil
}

func (m *Memory) Session(tokenHash string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[tokenHash]
	if !ok {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	return s, nil
}

func (m *Memory) DeleteSession(tokenHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, tokenHash)
	return nil
}

func (m *Memory) DeleteExpiredSessions(now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, s := range m.sessions {
		if !s.Expires.After(now) {
			delete(m.sessions, k)
			n++
		}
	}
	return n, nil
}

// Close does nothing; the memory store stays usable.
func (m *Memory) Close() error { return nil }

// Snapshot returns everything in the store as JSON with sorted keys, so tests can check
// that a refused request changed nothing.
func (m *Memory) Snapshot() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return json.Marshal(map[string]any{
		"clinics": m.clinics, "clinicians": m.clinicians, "devices": m.devices,
		"appointments": m.appointments, "sessions": m.sessions,
		"history": m.history, "event_keys": m.eventKeys, "pushes": m.pushes,
	})
}

func (m *Memory) Apply(id string, evs ...EventInput) (Appointment, []appointment.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, in := range evs {
		if _, ok := m.eventKeys[in.Key]; ok && in.Key != "" {
			return Appointment{}, nil, fmt.Errorf("event %s: %w", in.Key, ErrDuplicate)
		}
	}
	a, ok := m.appointments[id]
	if !ok {
		return Appointment{}, nil, fmt.Errorf("appointment %s: %w", id, ErrNotFound)
	}
	recs, err := applyEvents(&a, evs)
	if err != nil {
		if len(evs) != 1 || evs[0].Key == "" {
			return Appointment{}, nil, err
		}
		a = m.appointments[id]
		r := refusedRecord(&a, evs[0], err)
		m.putRecord(r)
		m.appointments[id] = a
		return a, []appointment.Record{r}, err
	}
	for _, r := range recs {
		m.putRecord(r)
	}
	m.appointments[id] = a
	return a, recs, nil
}

// putRecord must hold mu.
func (m *Memory) putRecord(r appointment.Record) {
	m.history[r.AppointmentID] = append(m.history[r.AppointmentID], r)
	if r.Key != "" {
		m.eventKeys[r.Key] = appliedKey{AppointmentID: r.AppointmentID, Applied: r.Received}
	}
}

func (m *Memory) History(id string) ([]appointment.Record, error) {
	recs, _, err := m.HistoryPage(id, 0, math.MaxInt)
	return recs, err
}

func (m *Memory) HistoryPage(id string, offset, limit int) ([]appointment.Record, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.appointments[id]; !ok {
		return nil, 0, fmt.Errorf("appointment %s: %w", id, ErrNotFound)
	}
	h := m.history[id]
	lo := min(max(offset, 0), len(h))
	hi := lo + min(max(limit, 0), len(h)-lo)
	return append([]appointment.Record{}, h[lo:hi]...), len(h), nil
}

func (m *Memory) PruneEventKeys(before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, ak := range m.eventKeys {
		if ak.Applied.Before(before) {
			delete(m.eventKeys, k)
			n++
		}
	}
	return n, nil
}

func (m *Memory) SetDeviceSettings(id string, set DeviceSettings, now time.Time) (Device, Push, error) {
	if err := validateSettings(set); err != nil {
		return Device{}, Push{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return Device{}, Push{}, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	body, err := json.Marshal(set)
	if err != nil {
		return Device{}, Push{}, err
	}
	d.JoinMode = set.JoinMode
	m.devices[id] = d
	m.pushSeq++
	p := Push{Seq: m.pushSeq, DeviceID: id, Type: PushSettings, Body: body, Queued: now.UTC()}
	m.pushes[id] = append(m.pushes[id], p)
	return d, p, nil
}

func (m *Memory) Pushes(deviceID string) ([]Push, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Push{}, m.pushes[deviceID]...), nil
}

func (m *Memory) AckPushes(deviceID string, seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pushes[deviceID] = slices.DeleteFunc(m.pushes[deviceID], func(p Push) bool { return p.Seq <= seq })
	if len(m.pushes[deviceID]) == 0 {
		delete(m.pushes, deviceID)
	}
	return nil
}

func (m *Memory) QueuePush(deviceID, typ string, body []byte, replace bool, now time.Time) (Push, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.devices[deviceID]; !ok {
		return Push{}, fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
	}
	if replace {
		m.pushes[deviceID] = slices.DeleteFunc(m.pushes[deviceID], func(p Push) bool { return p.Type == typ })
	}
	m.pushSeq++
	p := Push{Seq: m.pushSeq, DeviceID: deviceID, Type: typ, Body: bytes.Clone(body), Queued: now.UTC()}
	m.pushes[deviceID] = append(m.pushes[deviceID], p)
	return p, nil
}

func (m *Memory) PutConfigDoc(d ConfigDoc) (ConfigDoc, error) {
	if _, err := ParseConfigScope(string(d.Scope)); err != nil {
		return ConfigDoc{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d.Version = m.configDocs[d.Scope].Version + 1
	d.UpdatedAt = d.UpdatedAt.UTC()
	m.configDocs[d.Scope] = d
	return d, nil
}

func (m *Memory) ConfigDoc(scope ConfigScope) (ConfigDoc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.configDocs[scope]
	if !ok {
		return ConfigDoc{}, fmt.Errorf("config for %s: %w", scope, ErrNotFound)
	}
	return d, nil
}

func (m *Memory) SetDeviceConfigStatus(id string, st ConfigStatus) (Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.devices[id]
	if !ok {
		return Device{}, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	d.ConfigVersion, d.ConfigError = st.Version, st.Error
	m.devices[id] = d
	return d, nil
}

func (m *Memory) CreateRelease(r *Release) error {
	if err := validateRelease(r); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.ID == "" {
		r.ID = NewID()
	}
	if _, ok := m.releases[r.ID]; ok {
		return fmt.Errorf("release %s: %w", r.ID, ErrConflict)
	}
	m.releases[r.ID] = r.clone()
	return nil
}

func (m *Memory) Release(id string) (Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.releases[id]
	if !ok {
		return Release{}, fmt.Errorf("release %s: %w", id, ErrNotFound)
	}
	return r.clone(), nil
}

func (m *Memory) Releases() ([]Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Release, 0, len(m.releases))
	for _, r := range m.releases {
		out = append(out, r.clone())
	}
	sortReleases(out)
	return out, nil
}

func (m *Memory) UpdateRelease(id string, fn func(*Release) error) (Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.releases[id]
	if !ok {
		return Release{}, fmt.Errorf("release %s: %w", id, ErrNotFound)
	}
	r := old.clone()
	if err := fn(&r); err != nil {
		return Release{}, err
	}
	r.ID = id
	if err := validateRelease(&r); err != nil {
		return Release{}, err
	}
	m.releases[id] = r.clone()
	return r, nil
}
