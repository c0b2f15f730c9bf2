package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/carebooth/carebooth/appointment"
	bolt "go.etcd.io/bbolt"
)

// The bbolt store's appointment history: events applied once by key, the records of each
// transition, and the pruning of old keys.

// appliedKey is what the event_keys bucket remembers of an applied key.
type appliedKey struct {
	AppointmentID string    `json:"appointment_id"`
	Applied       time.Time `json:"applied"`
}

func seqKey(owner string, seq uint64) []byte {
	k := make([]byte, 0, len(owner)+9)
	k = append(k, owner...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

func putRecord(tx *bolt.Tx, r *appointment.Record) error {
	b := tx.Bucket(bktHistory)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := putJSON(b, string(seqKey(r.AppointmentID, seq)), r); err != nil {
		return err
	}
	if r.Key != "" {
		return putJSON(tx.Bucket(bktEventKeys), r.Key, appliedKey{AppointmentID: r.AppointmentID, Applied: r.Received})
	}
	return nil
}

func (s *Bolt) Apply(id string, evs ...EventInput) (Appointment, []appointment.Record, error) {
	var (
		a       Appointment
		recs    []appointment.Record
		illegal error
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, in := range evs {
			if in.Key != "" && tx.Bucket(bktEventKeys).Get([]byte(in.Key)) != nil {
				return fmt.Errorf("event %s: %w", in.Key, ErrDuplicate)
			}
		}
		b := tx.Bucket(bktAppointments)
		if err := getJSON(b, id, &a, "appointment"); err != nil {
			return err
		}
		var err error
		recs, err = applyEvents(&a, evs)
		if err != nil {
			if len(evs) != 1 || evs[0].Key == "" {
				return err
			}
			illegal = err
			r := refusedRecord(&a, evs[0], err)
			recs = []appointment.Record{r}
			if err := putRecord(tx, &r); err != nil {
				return err
			}
			return putJSON(b, id, &a)
		}
		for i := range recs {
			if err := putRecord(tx, &recs[i]); err != nil {
				return err
			}
		}
		return putJSON(b, id, &a)
	})
	if err != nil {
		return Appointment{}, nil, err
	}
	return a, recs, illegal
}

func (s *Bolt) History(id string) ([]appointment.Record, error) {
	recs, _, err := s.HistoryPage(id, 0, math.MaxInt)
	return recs, err
}

func (s *Bolt) HistoryPage(id string, offset, limit int) ([]appointment.Record, int, error) {
	out := []appointment.Record{}
	total := 0
	prefix := append([]byte(id), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bktAppointments).Get([]byte(id)) == nil {
			return fmt.Errorf("appointment %s: %w", id, ErrNotFound)
		}
		c := tx.Bucket(bktHistory).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			total++
			if total <= offset || len(out) >= limit {
				continue // counted, not decoded
			}
			var r appointment.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode history of %s: %w", id, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, total, err
}

func (s *Bolt) PruneEventKeys(before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktEventKeys)
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var ak appliedKey
			if err := json.Unmarshal(v, &ak); err != nil {
				return fmt.Errorf("decode event key: %w", err)
			}
			if ak.Applied.Before(before) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}
