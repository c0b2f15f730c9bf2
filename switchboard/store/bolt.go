package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/boltfile"
)

// SchemaVersion is the layout this package writes. Open migrates older files forward and
// refuses newer ones.
//
// Version 2 added external IDs (imports). Version 3 added the appointment history, the
// applied event keys and the device push queue (the statuses window_open, no_show and
// telephone need no layout change). Version 4 counts each appointment's booth events
// (Appointment.BoothEvents, RefusedEvents) from the history it already holds. Version 5
// added the audit log, remote config documents and firmware releases (buckets audit,
// config_docs and firmware_releases).
//
// boltfile.Open keeps the version as a big-endian uint32 in the meta bucket; files that
// hold it as decimal text (every switchboard.db before boltfile) are read and rewritten in
// the opening transaction. A switchboard older than that refuses such a file ("not a
// number") rather than misreading it.
const SchemaVersion = 5

var (
	bktMeta          = []byte(boltfile.MetaBucket)
	bktClinics       = []byte("clinics")
	bktClinicians    = []byte("clinicians")
	bktByUsername    = []byte("clinicians_by_username")
	bktDevices       = []byte("devices")
	bktByToken       = []byte("devices_by_token")
	bktAppointments  = []byte("appointments")
	bktApptByClinic  = []byte("appointments_by_clinic")
	bktApptByDevice  = []byte("appointments_by_device")
	bktSessions      = []byte("sessions")
	bktHistory       = []byte("appointment_history") // appointment ID, 0, big-endian seq -> appointment.Record
	bktEventKeys     = []byte("event_keys")          // idempotency key -> appliedKey
	bktPushes        = []byte("device_pushes")       // device ID, 0, big-endian seq -> Push
	bktAudit         = []byte("audit")               // big-endian seq -> audit.Entry
	bktConfigDocs    = []byte("config_docs")         // scope -> ConfigDoc
	bktReleases      = []byte("firmware_releases")   // release ID -> Release
	keySchemaVersion = []byte(boltfile.SchemaVersionKey)
	allBuckets       = [][]byte{bktMeta, bktClinics, bktClinicians, bktByUsername, bktDevices, bktByToken, bktAppointments, bktApptByClinic, bktApptByDevice, bktSessions}
)

// migrations[v] upgrades a file from schema version v to v+1 inside one write
// transaction. Version 0 is a new, empty file. Append a function here when the layout
// changes and bump SchemaVersion.
var migrations = []boltfile.Migration{
	0: func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	},
	1: migrateExternalIDs,
	2: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktHistory, bktEventKeys, bktPushes} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	},
	3: migrateBoothEventCounts,
	4: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktAudit, bktConfigDocs, bktReleases} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	},
}

// migrateBoothEventCounts sets each appointment's BoothEvents and RefusedEvents from its
// history.
func migrateBoothEventCounts(tx *bolt.Tx) error {
	type counts struct{ booth, refused int }
	byID := map[string]*counts{}
	err := tx.Bucket(bktHistory).ForEach(func(k, v []byte) error {
		var r appointment.Record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode history record %x: %w", k, err)
		}
		if r.Key == "" {
			return nil
		}
		c := byID[r.AppointmentID]
		if c == nil {
			c = &counts{}
			byID[r.AppointmentID] = c
		}
		c.booth++
		if r.Refused != "" {
			c.refused++
		}
		return nil
	})
	if err != nil {
		return err
	}
	b := tx.Bucket(bktAppointments)
	for id, c := range byID {
		var a Appointment
		if err := getJSON(b, id, &a, "appointment"); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		a.BoothEvents, a.RefusedEvents = c.booth, c.refused
		if err := putJSON(b, id, &a); err != nil {
			return err
		}
	}
	return nil
}

// Bolt is a Store in a bbolt file. Every write is one fsync'd transaction.
type Bolt struct {
	db         *bolt.DB
	path       string
	compaction Compaction
}

var _ Store = (*Bolt)(nil)

// BoltOptions tune OpenBoltWith.
type BoltOptions struct {
	// CompactFree: at open, a file whose free pages hold at least this many bytes is
	// compacted first (boltfile.Compact). 0 means DefaultCompactFree; negative never compacts.
	CompactFree int64
}

// OpenBolt opens or creates the bbolt file at path, compacting it first when it has
// DefaultCompactFree bytes of free pages, and migrates it to SchemaVersion.
func OpenBolt(path string) (*Bolt, error) { return OpenBoltWith(path, BoltOptions{}) }

// OpenBoltWith is OpenBolt with options.
func OpenBoltWith(path string, o BoltOptions) (*Bolt, error) {
	if o.CompactFree == 0 {
		o.CompactFree = DefaultCompactFree
	}
	db, res, err := boltfile.OpenWith(path, migrations, boltfile.Options{Compact: o.CompactFree > 0, CompactFree: o.CompactFree})
	if err != nil {
		return nil, fmt.Errorf("open state file: %w", err)
	}
	return &Bolt{db: db, path: path, compaction: res.Compaction}, nil
}

// Compaction reports what OpenBolt's compaction did.
func (s *Bolt) Compaction() Compaction { return s.compaction }

// SchemaVersion returns the schema version stored in the file.
func (s *Bolt) SchemaVersion() (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		n, err := boltfile.Version(tx)
		v = n
		return err
	})
	return v, err
}

// Close closes the file. It is safe to call more than once.
func (s *Bolt) Close() error {
	return s.db.Close()
}

func getJSON(b *bolt.Bucket, key string, v any, what string) error {
	raw := b.Get([]byte(key))
	if raw == nil {
		return fmt.Errorf("%s %s: %w", what, key, ErrNotFound)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", what, key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), raw)
}

// timeKey builds an index key: owner, 0, start as a sortable 8-byte number, id.
func timeKey(owner string, start time.Time, id string) []byte {
	k := make([]byte, 0, len(owner)+1+8+len(id))
	k = append(k, owner...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(start.UnixNano())^(1<<63))
	return append(k, id...)
}

func (s *Bolt) CreateClinic(c *Clinic) error {
	if c.ID == "" {
		c.ID = NewID()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktClinics)
		if b.Get([]byte(c.ID)) != nil {
			return fmt.Errorf("clinic %s: %w", c.ID, ErrConflict)
		}
		return putJSON(b, c.ID, c)
	})
}

func (s *Bolt) Clinic(id string) (Clinic, error) {
	var c Clinic
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bktClinics), id, &c, "clinic") })
	return c, err
}

func (s *Bolt) Clinics() ([]Clinic, error) {
	out := []Clinic{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktClinics).ForEach(func(k, v []byte) error {
			var c Clinic
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode clinic %s: %w", k, err)
			}
			out = append(out, c)
			return nil
		})
	})
	sortClinics(out)
	return out, err
}

func (s *Bolt) CreateClinician(c *Clinician) error {
	if c.ID == "" {
		c.ID = NewID()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, idx := tx.Bucket(bktClinicians), tx.Bucket(bktByUsername)
		if b.Get([]byte(c.ID)) != nil {
			return fmt.Errorf("clinician %s: %w", c.ID, ErrConflict)
		}
		if idx.Get([]byte(c.Username)) != nil {
			return fmt.Errorf("username %q is taken: %w", c.Username, ErrConflict)
		}
		if err := idx.Put([]byte(c.Username), []byte(c.ID)); err != nil {
			return err
		}
		return putJSON(b, c.ID, c)
	})
}

func (s *Bolt) Clinician(id string) (Clinician, error) {
	var c Clinician
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bktClinicians), id, &c, "clinician") })
	return c, err
}

func (s *Bolt) ClinicianByUsername(username string) (Clinician, error) {
	var c Clinician
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bktByUsername).Get([]byte(username))
		if id == nil {
			return fmt.Errorf("clinician %q: %w", username, ErrNotFound)
		}
		return getJSON(tx.Bucket(bktClinicians), string(id), &c, "clinician")
	})
	return c, err
}

func (s *Bolt) SetPassword(id string, hash []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktClinicians)
		var c Clinician
		if err := getJSON(b, id, &c, "clinician"); err != nil {
			return err
		}
		c.PasswordHash = hash
		return putJSON(b, id, &c)
	})
}

func (s *Bolt) CreateDevice(d *Device) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, idx := tx.Bucket(bktDevices), tx.Bucket(bktByToken)
		if b.Get([]byte(d.ID)) != nil {
			return fmt.Errorf("device %s: %w", d.ID, ErrConflict)
		}
		if d.TokenHash != "" {
			if idx.Get([]byte(d.TokenHash)) != nil {
				return fmt.Errorf("device token: %w", ErrConflict)
			}
			if err := idx.Put([]byte(d.TokenHash), []byte(d.ID)); err != nil {
				return err
			}
		}
		return putJSON(b, d.ID, d)
	})
}

func (s *Bolt) Device(id string) (Device, error) {
	var d Device
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bktDevices), id, &d, "device") })
	return d, err
}

func (s *Bolt) DeviceByTokenHash(hash string) (Device, error) {
	var d Device
	err := s.db.View(func(tx *bolt.Tx) error {
		var id []byte
		if hash != "" {
			id = tx.Bucket(bktByToken).Get([]byte(hash))
		}
		if id == nil {
			return fmt.Errorf("device token: %w", ErrNotFound)
		}
		return getJSON(tx.Bucket(bktDevices), string(id), &d, "device")
	})
	return d, err
}

func (s *Bolt) Devices(clinicID string) ([]Device, error) {
	out := []Device{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktDevices).ForEach(func(k, v []byte) error {
			var d Device
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode device %s: %w", k, err)
			}
			if clinicID == "" || d.ClinicID == clinicID {
				out = append(out, d)
			}
			return nil
		})
	})
	sortDevices(out)
	return out, err
}

func (s *Bolt) updateDevice(id string, fn func(tx *bolt.Tx, d *Device) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktDevices)
		var d Device
		if err := getJSON(b, id, &d, "device"); err != nil {
			return err
		}
		if err := fn(tx, &d); err != nil {
			return err
		}
		return putJSON(b, id, &d)
	})
}

func (s *Bolt) SetDeviceToken(id, hash string) error {
	return s.updateDevice(id, func(tx *bolt.Tx, d *Device) error {
		idx := tx.Bucket(bktByToken)
		if hash != "" {
			if owner := idx.Get([]byte(hash)); owner != nil && string(owner) != id {
				return fmt.Errorf("device token: %w", ErrConflict)
			}
		}
		if d.TokenHash != "" {
			if err := idx.Delete([]byte(d.TokenHash)); err != nil {
				return err
			}
		}
		d.TokenHash = hash
		if hash == "" {
			return nil
		}
		return idx.Put([]byte(hash), []byte(id))
	})
}

func (s *Bolt) RevokeDevice(id string, rv Revocation) (Device, error) {
	if err := validateRevocation(rv); err != nil {
		return Device{}, err
	}
	var out Device
	err := s.updateDevice(id, func(_ *bolt.Tx, d *Device) error {
		if d.Revoked != nil {
			out = *d
			return fmt.Errorf("device %s revoked already: %w", id, ErrConflict)
		}
		rv.At = rv.At.UTC()
		d.Revoked = &rv
		out = *d
		return nil
	})
	return out, err
}

func (s *Bolt) TouchDevice(id string, seen time.Time) error {
	return s.updateDevice(id, func(_ *bolt.Tx, d *Device) error {
		d.LastSeen = seen
		return nil
	})
}

func putAppointmentIndex(tx *bolt.Tx, a *Appointment) error {
	if err := tx.Bucket(bktApptByClinic).Put(timeKey(a.ClinicID, a.Start, a.ID), nil); err != nil {
		return err
	}
	if err := putExternalIndex(tx, a); err != nil {
		return err
	}
	return tx.Bucket(bktApptByDevice).Put(timeKey(a.DeviceID, a.Start, a.ID), nil)
}

func deleteAppointmentIndex(tx *bolt.Tx, a *Appointment) error {
	if err := tx.Bucket(bktApptByClinic).Delete(timeKey(a.ClinicID, a.Start, a.ID)); err != nil {
		return err
	}
	if err := deleteExternalIndex(tx, a); err != nil {
		return err
	}
	return tx.Bucket(bktApptByDevice).Delete(timeKey(a.DeviceID, a.Start, a.ID))
}

func (s *Bolt) CreateAppointment(a *Appointment) error {
	if err := validateAppointment(a); err != nil {
		return err
	}
	if a.ID == "" {
		a.ID = NewID()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAppointments)
		if b.Get([]byte(a.ID)) != nil {
			return fmt.Errorf("appointment %s: %w", a.ID, ErrConflict)
		}
		if err := putAppointmentIndex(tx, a); err != nil {
			return err
		}
		return putJSON(b, a.ID, a)
	})
}

func (s *Bolt) Appointment(id string) (Appointment, error) {
	var a Appointment
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bktAppointments), id, &a, "appointment") })
	return a, err
}

func (s *Bolt) UpdateAppointment(id string, fn func(*Appointment) error) (Appointment, error) {
	var a Appointment
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAppointments)
		if err := getJSON(b, id, &a, "appointment"); err != nil {
			return err
		}
		old := a
		if err := fn(&a); err != nil {
			return err
		}
		a.ID = id
		if err := validateAppointment(&a); err != nil {
			return err
		}
		if old.ClinicID != a.ClinicID || old.DeviceID != a.DeviceID || !old.Start.Equal(a.Start) || old.ExternalID != a.ExternalID {
			if err := deleteAppointmentIndex(tx, &old); err != nil {
				return err
			}
			if err := putAppointmentIndex(tx, &a); err != nil {
				return err
			}
		}
		return putJSON(b, id, &a)
	})
	if err != nil {
		return Appointment{}, err
	}
	return a, nil
}

// appointmentsIn scans an index bucket from from-MaxAppointmentLength up to to.
func (s *Bolt) appointmentsIn(index []byte, owner string, from, to time.Time) ([]Appointment, error) {
	out := []Appointment{}
	prefix := append([]byte(owner), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		appts := tx.Bucket(bktAppointments)
		c := tx.Bucket(index).Cursor()
		for k, _ := c.Seek(timeKey(owner, from.Add(-MaxAppointmentLength), "")); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			rest := k[len(prefix):]
			if len(rest) < 8 {
				continue
			}
			start := time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8])^(1<<63)))
			if !start.Before(to) {
				break
			}
			var a Appointment
			if err := getJSON(appts, string(rest[8:]), &a, "appointment"); err != nil {
				return err
			}
			if overlaps(&a, from, to) {
				out = append(out, a)
			}
		}
		return nil
	})
	sortAppointments(out)
	return out, err
}

func (s *Bolt) AppointmentsByClinic(clinicID string, from, to time.Time) ([]Appointment, error) {
	return s.appointmentsIn(bktApptByClinic, clinicID, from, to)
}

func (s *Bolt) AppointmentsByDevice(deviceID string, from, to time.Time) ([]Appointment, error) {
	return s.appointmentsIn(bktApptByDevice, deviceID, from, to)
}

func (s *Bolt) CreateSession(sess Session) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSessions)
		if b.Get([]byte(sess.TokenHash)) != nil {
			return fmt.Errorf("session: %w", ErrConflict)
		}
		return putJSON(b, sess.TokenHash, &sess)
	})
}

func (s *Bolt) Session(tokenHash string) (Session, error) {
	var sess Session
	err := s.db.View(func(tx *bolt.Tx) error {
		if tokenHash == "" {
			return fmt.Errorf("session: %w", ErrNotFound)
		}
		return getJSON(tx.Bucket(bktSessions), tokenHash, &sess, "session")
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound) // do not echo the hash
	}
	return sess, err
}

func (s *Bolt) DeleteSession(tokenHash string) error {
	if tokenHash == "" {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktSessions).Delete([]byte(tokenHash)) })
}

func (s *Bolt) DeleteExpiredSessions(now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSessions)
		var expired [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var sess Session
			if err := json.Unmarshal(v, &sess); err != nil {
				return fmt.Errorf("decode session: %w", err)
			}
			if !sess.Expires.After(now) {
				expired = append(expired, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}
