package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/carebooth/carebooth/appointment"
)

// Histories returns the records of many appointments, oldest first, keyed by appointment
// ID; an appointment with no records (or unknown) is absent. It reads them all in one
// transaction, which is what a report over a year of appointments needs.
func (s *Bolt) Histories(ids []string) (map[string][]appointment.Record, error) {
	out := make(map[string][]appointment.Record, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktHistory).Cursor()
		for _, id := range ids {
			prefix := append([]byte(id), 0)
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				var r appointment.Record
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("decode history of %s: %w", id, err)
				}
				out[id] = append(out[id], r)
			}
		}
		return nil
	})
	return out, err
}

// Histories returns the records of many appointments, as Bolt's does.
func (m *Memory) Histories(ids []string) (map[string][]appointment.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]appointment.Record, len(ids))
	for _, id := range ids {
		if h := m.history[id]; len(h) > 0 {
			out[id] = append([]appointment.Record{}, h...)
		}
	}
	return out, nil
}
