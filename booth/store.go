package booth

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/carebooth/carebooth/signalling"
	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned by Store.Get for an unknown appointment.
var ErrNotFound = errors.New("appointment not found")

// Appointment is an appointment as the booth keeps it: the switchboard's view plus whether
// this booth has finished with it.
type Appointment struct {
	signalling.Appointment
	// Done is set once a call for the appointment has ended; the booth does not join it
	// again.
	Done bool `json:"done,omitempty"`
}

// Store is the booth's local copy of its schedule, so a booth that restarts while the
// switchboard is unreachable still knows its appointments.
type Store interface {
	// ReplaceSchedule replaces every appointment with appts (the switchboard's schedule
	// message). Done marks of appointments still in the schedule are kept.
	ReplaceSchedule(appts []signalling.Appointment) error
	// Upcoming returns the appointments that have not ended at now, by start time.
	Upcoming(now time.Time) ([]Appointment, error)
	// Get returns one appointment or ErrNotFound.
	Get(id string) (Appointment, error)
	// MarkDone records that the appointment's call has ended.
	MarkDone(id string) error
}

func sortAppointments(a []Appointment) {
	sort.Slice(a, func(i, j int) bool {
		if !a[i].Start.Equal(a[j].Start) {
			return a[i].Start.Before(a[j].Start)
		}
		return a[i].ID < a[j].ID
	})
}

// MemStore is an in-memory Store for tests and for running without a state directory.
type MemStore struct {
	mu    sync.Mutex
	appts map[string]Appointment
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{appts: map[string]Appointment{}} }

func (m *MemStore) ReplaceSchedule(appts []signalling.Appointment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]Appointment, len(appts))
	for _, a := range appts {
		next[a.ID] = Appointment{Appointment: a, Done: m.appts[a.ID].Done}
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

// BoltStore is the Store boothd uses: a bbolt file under the state directory.
//
// Layout, schema version 1: bucket "meta" holds "schema_version" (uint32, big-endian);
// bucket "appointments" maps appointment ID to the JSON of an Appointment.
type BoltStore struct {
	db *bolt.DB
}

var _ Store = (*BoltStore)(nil)

const boltSchemaVersion = 1

var (
	bucketMeta  = []byte("meta")
	bucketAppts = []byte("appointments")
	keySchema   = []byte("schema_version")
)

// BoltFile is the store's file name inside the state directory.
const BoltFile = "booth.db"

// OpenBoltStore opens (creating if needed) dir/booth.db. A file written by a newer boothd
// (a higher schema version) is refused rather than misread.
func OpenBoltStore(dir string) (*BoltStore, error) {
	path := filepath.Join(dir, BoltFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open appointment store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketAppts); err != nil {
			return err
		}
		v := meta.Get(keySchema)
		switch {
		case v == nil:
			return meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, boltSchemaVersion))
		case len(v) != 4:
			return fmt.Errorf("schema version is %d bytes, want 4", len(v))
		case binary.BigEndian.Uint32(v) > boltSchemaVersion:
			return fmt.Errorf("schema version %d is newer than this boothd's %d: upgrade boothd or move the file away", binary.BigEndian.Uint32(v), boltSchemaVersion)
		}
		// Migrations from older versions go here when version 2 exists.
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open appointment store %s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

func (s *BoltStore) ReplaceSchedule(appts []signalling.Appointment) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAppts)
		done := map[string]bool{}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var a Appointment
			if json.Unmarshal(v, &a) == nil && a.Done {
				done[string(k)] = true
			}
		}
		if err := tx.DeleteBucket(bucketAppts); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bucketAppts)
		if err != nil {
			return err
		}
		for _, a := range appts {
			data, err := json.Marshal(Appointment{Appointment: a, Done: done[a.ID]})
			if err != nil {
				return err
			}
			if err := b.Put([]byte(a.ID), data); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *BoltStore) Upcoming(now time.Time) ([]Appointment, error) {
	var out []Appointment
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAppts).ForEach(func(k, v []byte) error {
			var a Appointment
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("appointment %q: %w", k, err)
			}
			if a.End.After(now) {
				out = append(out, a)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	sortAppointments(out)
	return out, nil
}

func (s *BoltStore) Get(id string) (Appointment, error) {
	var a Appointment
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAppts).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("appointment %q: %w", id, ErrNotFound)
		}
		return json.Unmarshal(v, &a)
	})
	return a, err
}

func (s *BoltStore) MarkDone(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAppts)
		v := b.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("appointment %q: %w", id, ErrNotFound)
		}
		var a Appointment
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		a.Done = true
		data, err := json.Marshal(a)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), data)
	})
}
