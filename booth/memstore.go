package booth

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
)

// MemStore is an in-memory Store for tests and for running without a state directory.
type MemStore struct {
	mu       sync.Mutex
	appts    map[string]Appointment
	id       string
	seq      uint64
	outbox   []OutboxEvent
	settings Settings
	quality  []signalling.Quality
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{appts: map[string]Appointment{}, id: newStoreID()} }

// pendingFor must hold m.mu.
func (m *MemStore) pendingFor(id string) bool {
	for _, e := range m.outbox {
		if e.AppointmentID == id {
			return true
		}
	}
	return false
}

func (m *MemStore) ReplaceSchedule(appts []signalling.Appointment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]Appointment, len(appts))
	for _, a := range appts {
		next[a.ID] = merge(m.appts[a.ID], a, m.pendingFor(a.ID))
	}
	m.appts = next
	return nil
}

func (m *MemStore) Upcoming(now time.Time) ([]Appointment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Appointment
	for _, a := range m.appts {
		if a.End.After(now) {
			out = append(out, a)
		}
	}
	sortAppointments(out)
	return out, nil
}

func (m *MemStore) Get(id string) (Appointment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.appts[id]
	if !ok {
		return Appointment{}, fmt.Errorf("appointment %q: %w", id, ErrNotFound)
	}
	return a, nil
}

func (m *MemStore) MarkDone(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.appts[id]
	if !ok {
		return fmt.Errorf("appointment %q: %w", id, ErrNotFound)
	}
	a.Done = true
	m.appts[id] = a
	return nil
}

func (m *MemStore) Record(id string, ev appointment.Event, at time.Time) (OutboxEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.appts[id]
	if !ok {
		return OutboxEvent{}, fmt.Errorf("appointment %q: %w", id, ErrNotFound)
	}
	e, err := m.record(&a, ev, at)
	if err != nil {
		return OutboxEvent{}, err
	}
	m.appts[id] = a
	return e, nil
}

// record moves a's Local by ev and appends ev to the outbox; the caller stores a. Must
// hold m.mu.
func (m *MemStore) record(a *Appointment, ev appointment.Event, at time.Time) (OutboxEvent, error) {
	to, err := appointment.Next(localOf(*a), ev, appointment.ActorDevice)
	if err != nil {
		return OutboxEvent{}, fmt.Errorf("appointment %s: %w", a.ID, err)
	}
	m.seq++
	e := OutboxEvent{Seq: m.seq, Key: eventKey(m.id, m.seq), AppointmentID: a.ID, Event: ev, At: at.UTC()}
	a.Local = to
	m.outbox = append(m.outbox, e)
	return e, nil
}

func (m *MemStore) Decide(id string, end EndPress, ev appointment.Event, at time.Time) (OutboxEvent, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.appts[id]
	if !ok {
		return OutboxEvent{}, false, fmt.Errorf("appointment %q: %w", id, ErrNotFound)
	}
	a.EndPress = end
	var e OutboxEvent
	var err error
	if ev != "" {
		if e, err = m.record(&a, ev, at); err != nil && !errors.Is(err, appointment.ErrIllegal) {
			return OutboxEvent{}, false, err
		}
	}
	m.appts[id] = a
	return e, ev != "" && err == nil, nil
}

func (m *MemStore) Outbox(after uint64, limit int) ([]OutboxEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []OutboxEvent
	for _, e := range m.outbox {
		if e.Seq > after && (limit <= 0 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *MemStore) Ack(status map[string]appointment.Status, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	touched := map[string]bool{}
	for _, k := range keys {
		for i, e := range m.outbox {
			if e.Key == k {
				touched[e.AppointmentID] = true
				m.outbox = append(m.outbox[:i:i], m.outbox[i+1:]...)
				break
			}
		}
	}
	for id := range touched {
		a, ok := m.appts[id]
		if s := status[id]; ok && s != "" && len(m.outbox) == 0 {
			a.Local = serverStatus(s)
			m.appts[id] = a
		}
	}
	return nil
}

func (m *MemStore) Settings() (Settings, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.settings, nil
}

func (m *MemStore) SaveSettings(s Settings) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings = s
	return nil
}

func (m *MemStore) KeepQuality(q signalling.Quality) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.quality = slices.DeleteFunc(m.quality, func(k signalling.Quality) bool { return k.CallID == q.CallID })
	m.quality = append(m.quality, q)
	if n := len(m.quality) - MaxKeptQuality; n > 0 {
		m.quality = slices.Delete(m.quality, 0, n)
	}
	return nil
}

func (m *MemStore) KeptQuality() ([]signalling.Quality, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.quality), nil
}

func (m *MemStore) ForgetQuality(callID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.quality = slices.DeleteFunc(m.quality, func(k signalling.Quality) bool { return k.CallID == callID })
	return nil
}
