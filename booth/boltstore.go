package booth

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/boltfile"
	"github.com/carebooth/carebooth/signalling"
	bolt "go.etcd.io/bbolt"
)

// BoltStore is the Store boothd uses: a bbolt file under the state directory.
//
// Layout, schema version 4 (version 3 had no bucket "quality"): bucket "meta" holds "schema_version" (uint32, big-endian),
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
const boltSchemaVersion = 4

var (
	bucketMeta   = []byte(boltfile.MetaBucket)
	bucketAppts  = []byte("appointments")
	bucketOutbox = []byte("outbox")
	// bucketQuality maps a big-endian sequence to the JSON of a signalling.Quality not yet
	// acknowledged (schema version 4).
	bucketQuality = []byte("quality")
	keySchema     = []byte(boltfile.SchemaVersionKey)
	keyStoreID    = []byte("store_id")
	keySettings   = []byte("settings")
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
	3: func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketQuality)
		return err
	},
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

func (s *BoltStore) Ack(status map[string]appointment.Status, keys ...string) error {
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
			a.Local = serverStatus(st)
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

func (s *BoltStore) KeepQuality(q signalling.Quality) error {
	data, err := json.Marshal(q)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQuality)
		if err := deleteQuality(b, q.CallID); err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
			return err
		}
		n := 0
		b.ForEach(func(_, _ []byte) error { n++; return nil })
		for ; n > MaxKeptQuality; n-- {
			k, _ := b.Cursor().First()
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *BoltStore) KeptQuality() ([]signalling.Quality, error) {
	var out []signalling.Quality
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQuality).ForEach(func(_, v []byte) error {
			var q signalling.Quality
			if err := json.Unmarshal(v, &q); err != nil {
				return nil // damaged: not worth refusing to start over; it is dropped with the next write
			}
			out = append(out, q)
			return nil
		})
	})
	return out, err
}

func (s *BoltStore) ForgetQuality(callID string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return deleteQuality(tx.Bucket(bucketQuality), callID) })
}

// deleteQuality removes the figures of callID from b.
func deleteQuality(b *bolt.Bucket, callID string) error {
	var del [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var q signalling.Quality
		if json.Unmarshal(v, &q) != nil || q.CallID == callID {
			del = append(del, k)
		}
		return nil
	})
	for _, k := range del {
		if err == nil {
			err = b.Delete(k)
		}
	}
	return err
}
