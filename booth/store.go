package booth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/boltfile"
	"github.com/carebooth/carebooth/signalling"
	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned by Store.Get for an unknown appointment.
var ErrNotFound = errors.New("appointment not found")

// Appointment is an appointment as the booth keeps it: the switchboard's view plus what
// this booth has done with it.
type Appointment struct {
	signalling.Appointment
	// Done is set once a call for the appointment has ended; the booth does not join it
	// again.
	Done bool `json:"done,omitempty"`
	// Local is the booth's own view of the life-cycle status: what its recorded events
	// have led to. It follows the switchboard's Status whenever the booth has no
	// undelivered events for the appointment.
	Local appointment.Status `json:"local,omitempty"`
	// EndPress is what the patient's End outside a call decided about the appointment:
	// the booth does not join it by itself (Join still joins). Kept across power cuts, so
	// a restart never puts the next person in front of the last patient's clinician.
	EndPress EndPress `json:"end_press,omitempty"`
}

// EndPress is a decision the patient made with End outside a call.
type EndPress string

// End presses. The string values are stored in booth.db; never change them.
const (
	// NoEndPress: none in force (never pressed, or Join pressed since).
	NoEndPress EndPress = ""
	// EndLeft: End pressed in the waiting room; the patient left it.
	EndLeft EndPress = "left"
	// EndHeld: End held in the join window; the automatic join is cancelled.
	EndHeld EndPress = "held"
)

// OutboxEvent is one appointment event the booth recorded, waiting for the switchboard
// to acknowledge it.
type OutboxEvent struct {
	Seq           uint64            `json:"seq"` // outbox order, from bbolt's NextSequence
	Key           string            `json:"key"` // idempotency key: store ID and Seq
	AppointmentID string            `json:"appointment_id"`
	Event         appointment.Event `json:"event"`
	At            time.Time         `json:"at"`
}

// Settings are the device settings the switchboard pushed, with the seq of the last push
// applied.
type Settings struct {
	Seq      uint64 `json:"seq"`
	JoinMode string `json:"join_mode,omitempty"`
}

// Store is the booth's local copy of its schedule and its outbox, so a booth that
// restarts while the switchboard is unreachable still knows its appointments and loses
// none of its events.
type Store interface {
	// ReplaceSchedule replaces every appointment with appts (the switchboard's schedule
	// message). Done marks of appointments still in the schedule are kept, and so is the
	// Local status of those with undelivered events.
	ReplaceSchedule(appts []signalling.Appointment) error
	// Upcoming returns the appointments that have not ended at now, by start time.
	Upcoming(now time.Time) ([]Appointment, error)
	// Get returns one appointment or ErrNotFound.
	Get(id string) (Appointment, error)
	// MarkDone records that the appointment's call has ended.
	MarkDone(id string) error

	// Record appends an event by this device to the outbox and moves the appointment's
	// Local status, in one transaction; an event the life cycle does not allow from
	// Local is refused (appointment.ErrIllegal) and nothing is written.
	Record(id string, ev appointment.Event, at time.Time) (OutboxEvent, error)
	// Decide keeps an End press (or NoEndPress, once Join undoes it) with the appointment
	// and, when ev is not empty, records ev as Record does, in one transaction: a power
	// cut keeps both or neither. It reports whether ev was recorded: one the life cycle
	// does not allow from Local is not, and the End press is kept all the same.
	Decide(id string, end EndPress, ev appointment.Event, at time.Time) (OutboxEvent, bool, error)
	// Outbox returns up to limit undelivered events with a Seq above after, oldest first
	// (limit <= 0: all of them).
	Outbox(after uint64, limit int) ([]OutboxEvent, error)
	// Ack removes delivered events by key and, once nothing is left to deliver, sets the
	// Local status of their appointments to the switchboard's (status by appointment ID;
	// "" leaves it). Keys that are not this store's are ignored.
	Ack(status map[string]string, keys ...string) error

	// Settings returns the settings last pushed by the switchboard.
	Settings() (Settings, error)
	// SaveSettings stores pushed settings.
	SaveSettings(s Settings) error
}

func sortAppointments(a []Appointment) {
	sort.Slice(a, func(i, j int) bool {
		if !a[i].Start.Equal(a[j].Start) {
			return a[i].Start.Before(a[j].Start)
		}
		return a[i].ID < a[j].ID
	})
}

// serverStatus maps a schedule's status to the life cycle, treating unknown ones (an
// older switchboard's "booked") as scheduled.
func serverStatus(s appointment.Status) appointment.Status {
	if s.Valid() {
		return s
	}
	return appointment.Scheduled
}

// newStoreID returns a random ID for a store's idempotency keys, so a booth whose state
// was wiped (and whose sequence starts again at 1) never reuses a key the switchboard has
// applied.
func newStoreID() string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never happens on Linux; see rand.Read
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func eventKey(storeID string, seq uint64) string { return storeID + "-" + strconv.FormatUint(seq, 10) }

// seqOfKey returns the sequence of one of this store's keys.
func seqOfKey(storeID, key string) (uint64, bool) {
	rest, ok := strings.CutPrefix(key, storeID+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

// MemStore is an in-memory Store for tests and for running without a state directory.
type MemStore struct {
	mu       sync.Mutex
	appts    map[string]Appointment
	id       string
	seq      uint64
	outbox   []OutboxEvent
	settings Settings
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

// merge is the stored appointment after a schedule brings a: Done and EndPress kept, Local
// following the switchboard unless the booth has undelivered events for it.
func merge(old Appointment, a signalling.Appointment, pending bool) Appointment {
	n := Appointment{Appointment: a, Done: old.Done, EndPress: old.EndPress, Local: serverStatus(a.Status)}
	if pending && old.Local != "" {
		n.Local = old.Local
	}
	return n
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

func localOf(a Appointment) appointment.Status {
	if a.Local != "" {
		return a.Local
	}
	return serverStatus(a.Status)
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

func (m *MemStore) Ack(status map[string]string, keys ...string) error {
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
			a.Local = serverStatus(appointment.Status(s))
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

// BoltStore is the Store boothd uses: a bbolt file under the state directory.
//
// Layout, schema version 3: bucket "meta" holds "schema_version" (uint32, big-endian),
// "store_id" (the prefix of idempotency keys) and "settings" (JSON); bucket
// "appointments" maps appointment ID to the JSON of an apptRecord; bucket "outbox" maps
// a big-endian sequence from NextSequence to the JSON of an OutboxEvent. Version 2 kept
// the JSON of an Appointment (the protocol's, with Done and Local) and no End presses;
// version 1 had no outbox, store ID or settings.
type BoltStore struct {
	db         *bolt.DB
	id         string
	compaction Compaction
}

var _ Store = (*BoltStore)(nil)

// boltSchemaVersion is the layout this code writes: len(boltMigrations), which
// boltfile.Open stores (TestBoltSchemaVersionIsMigrations).
const boltSchemaVersion = 3

var (
	bucketMeta   = []byte(boltfile.MetaBucket)
	bucketAppts  = []byte("appointments")
	bucketOutbox = []byte("outbox")
	keySchema    = []byte(boltfile.SchemaVersionKey)
	keyStoreID   = []byte("store_id")
	keySettings  = []byte("settings")
)

// boltMigrations[v] upgrades a file from schema version v to v+1 inside the opening
// transaction. Version 0 is a new, empty file.
var boltMigrations = []boltfile.Migration{
	0: func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketAppts)
		return err
	},
	1: func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketOutbox); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyStoreID, []byte(newStoreID()))
	},
	2: migrateRecords,
}

// BoltFile is the store's file name inside the state directory.
const BoltFile = "booth.db"

// DefaultCompactFree is how many bytes of free pages make OpenBoltStore compact the file
// (a long offline spell can fill the outbox; once delivered, its pages stay in the file).
const DefaultCompactFree = 1 << 20

// OpenBoltStore opens (creating if needed) dir/booth.db, compacting it first when its
// free pages hold DefaultCompactFree bytes, and migrates it forward. A file written by a
// newer boothd (a higher schema version) is refused rather than misread.
func OpenBoltStore(dir string) (*BoltStore, error) { return OpenBoltStoreWith(dir, DefaultCompactFree) }

// OpenBoltStoreWith is OpenBoltStore with the compaction threshold given (negative:
// never compact).
func OpenBoltStoreWith(dir string, compactFree int64) (*BoltStore, error) {
	path := filepath.Join(dir, BoltFile)
	db, res, err := boltfile.OpenWith(path, boltMigrations,
		boltfile.Options{Compact: compactFree >= 0, CompactFree: compactFree, Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open appointment store: %w", err)
	}
	s := &BoltStore{db: db, compaction: res.Compaction}
	db.View(func(tx *bolt.Tx) error {
		s.id = string(tx.Bucket(bucketMeta).Get(keyStoreID))
		return nil
	})
	return s, nil
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

// Compaction reports what the compaction at open did.
func (s *BoltStore) Compaction() Compaction { return s.compaction }

func getAppt(b *bolt.Bucket, id string) (Appointment, error) {
	v := b.Get([]byte(id))
	if v == nil {
		return Appointment{}, fmt.Errorf("appointment %q: %w", id, ErrNotFound)
	}
	return decodeAppt(id, v)
}

func decodeAppt(id string, v []byte) (Appointment, error) {
	var r apptRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return Appointment{}, fmt.Errorf("appointment %q: %w", id, err)
	}
	return r.appointment(), nil
}

func putAppt(b *bolt.Bucket, a *Appointment) error {
	data, err := json.Marshal(recordOf(a))
	if err != nil {
		return err
	}
	return b.Put([]byte(a.ID), data)
}

// pendingIDs returns the appointments with undelivered events.
func pendingIDs(tx *bolt.Tx) (map[string]bool, error) {
	ids := map[string]bool{}
	err := tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
		var e OutboxEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("outbox entry %x: %w", k, err)
		}
		ids[e.AppointmentID] = true
		return nil
	})
	return ids, err
}

func (s *BoltStore) ReplaceSchedule(appts []signalling.Appointment) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAppts)
		old := map[string]Appointment{}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if a, err := decodeAppt(string(k), v); err == nil {
				old[string(k)] = a
			}
		}
		pending, err := pendingIDs(tx)
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketAppts); err != nil {
			return err
		}
		b, err = tx.CreateBucket(bucketAppts)
		if err != nil {
			return err
		}
		for _, a := range appts {
			n := merge(old[a.ID], a, pending[a.ID])
			if err := putAppt(b, &n); err != nil {
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
			a, err := decodeAppt(string(k), v)
			if err != nil {
				return err
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
		var err error
		a, err = getAppt(tx.Bucket(bucketAppts), id)
		return err
	})
	return a, err
}

func (s *BoltStore) MarkDone(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAppts)
		a, err := getAppt(b, id)
		if err != nil {
			return err
		}
		a.Done = true
		return putAppt(b, &a)
	})
}

func (s *BoltStore) Record(id string, ev appointment.Event, at time.Time) (OutboxEvent, error) {
	var e OutboxEvent
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAppts)
		a, err := getAppt(b, id)
		if err != nil {
			return err
		}
		if e, err = s.record(tx, &a, ev, at); err != nil {
			return err
		}
		return putAppt(b, &a)
	})
	return e, err
}

// record moves a's Local by ev and appends ev to the outbox, in tx; the caller stores a.
func (s *BoltStore) record(tx *bolt.Tx, a *Appointment, ev appointment.Event, at time.Time) (OutboxEvent, error) {
	to, err := appointment.Next(localOf(*a), ev, appointment.ActorDevice)
	if err != nil {
		return OutboxEvent{}, fmt.Errorf("appointment %s: %w", a.ID, err)
	}
	a.Local = to
	out := tx.Bucket(bucketOutbox)
	seq, err := out.NextSequence()
	if err != nil {
		return OutboxEvent{}, err
	}
	e := OutboxEvent{Seq: seq, Key: eventKey(s.id, seq), AppointmentID: a.ID, Event: ev, At: at.UTC()}
	data, err := json.Marshal(&e)
	if err != nil {
		return OutboxEvent{}, err
	}
	return e, out.Put(binary.BigEndian.AppendUint64(nil, seq), data)
}

func (s *BoltStore) Decide(id string, end EndPress, ev appointment.Event, at time.Time) (OutboxEvent, bool, error) {
	var e OutboxEvent
	recorded := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAppts)
		a, err := getAppt(b, id)
		if err != nil {
			return err
		}
		a.EndPress = end
		if ev != "" {
			switch e, err = s.record(tx, &a, ev, at); {
			case err == nil:
				recorded = true
			case !errors.Is(err, appointment.ErrIllegal):
				return err
			}
		}
		return putAppt(b, &a)
	})
	if err != nil {
		return OutboxEvent{}, false, err
	}
	return e, recorded, nil
}

func (s *BoltStore) Outbox(after uint64, limit int) ([]OutboxEvent, error) {
	var out []OutboxEvent
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var e OutboxEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("outbox entry %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

func (s *BoltStore) Ack(status map[string]string, keys ...string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		out := tx.Bucket(bucketOutbox)
		touched := map[string]bool{}
		for _, k := range keys {
			seq, ok := seqOfKey(s.id, k)
			if !ok {
				continue // not one of ours: nothing to forget
			}
			key := binary.BigEndian.AppendUint64(nil, seq)
			if v := out.Get(key); v != nil {
				var e OutboxEvent
				if json.Unmarshal(v, &e) == nil {
					touched[e.AppointmentID] = true
				}
				if err := out.Delete(key); err != nil {
					return err
				}
			}
		}
		if len(touched) == 0 {
			return nil
		}
		if k, _ := out.Cursor().First(); k != nil {
			return nil // more to deliver: Local stays the booth's own view
		}
		b := tx.Bucket(bucketAppts)
		for id := range touched {
			st := status[id]
			if st == "" {
				continue
			}
			a, err := getAppt(b, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			a.Local = serverStatus(appointment.Status(st))
			if err := putAppt(b, &a); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *BoltStore) Settings() (Settings, error) {
	var set Settings
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySettings); v != nil {
			return json.Unmarshal(v, &set)
		}
		return nil
	})
	return set, err
}

func (s *BoltStore) SaveSettings(set Settings) error {
	data, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySettings, data) })
}
