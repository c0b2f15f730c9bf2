package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/carebooth/carebooth/switchboard/audit"
)

// The audit log: append, read by sequence, and prune by age. There is deliberately no
// method that changes or deletes one entry.

// MaxAuditPage bounds audit.Query.Limit.
const MaxAuditPage = 1000

func auditLimit(q audit.Query) int {
	if q.Limit <= 0 || q.Limit > MaxAuditPage {
		return MaxAuditPage
	}
	return q.Limit
}

func prepareAudit(e *audit.Entry) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	e.At = e.At.UTC()
	return nil
}

func (m *Memory) AppendAudit(e *audit.Entry) error {
	if err := prepareAudit(e); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.auditSeq++
	e.Seq = m.auditSeq
	m.audit = append(m.audit, *e)
	return nil
}

func (m *Memory) Audit(q audit.Query) ([]audit.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, limit := []audit.Entry{}, auditLimit(q)
	for i := range m.audit {
		e := &m.audit[i]
		if e.Seq > q.AfterSeq && q.Matches(e) {
			out = append(out, *e)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (m *Memory) PruneAudit(before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for n < len(m.audit) && m.audit[n].At.Before(before) {
		n++
	}
	m.audit = append([]audit.Entry(nil), m.audit[n:]...)
	return n, nil
}

func (s *Bolt) AppendAudit(e *audit.Entry) error {
	if err := prepareAudit(e); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, seq), v)
	})
}

func (s *Bolt) Audit(q audit.Query) ([]audit.Entry, error) {
	out, limit := []audit.Entry{}, auditLimit(q)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktAudit).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, q.AfterSeq+1)); k != nil; k, v = c.Next() {
			var e audit.Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode audit entry %x: %w", k, err)
			}
			if q.Matches(&e) {
				out = append(out, e)
				if len(out) == limit {
					return nil
				}
			}
		}
		return nil
	})
	return out, err
}

// PruneAudit relies on entries being appended in time order: it stops at the first one
// that is new enough.
func (s *Bolt) PruneAudit(before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAudit)
		var old [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var e audit.Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode audit entry %x: %w", k, err)
			}
			if !e.At.Before(before) {
				break
			}
			old = append(old, bytes.Clone(k))
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
