package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/carebooth/carebooth/appointment"
)

// ImportPlan decides what an import writes. It is called inside the import's transaction
// with the clinic's stored appointments whose external IDs were asked for, keyed by
// ExternalID, and returns the writes. A plan must not call the store (it runs under the
// store's lock) and an error from it aborts the import unchanged.
type ImportPlan func(existing map[string]Appointment) ([]ImportWrite, error)

// ImportWrite is one appointment an import writes. Without an ID it is created (status
// scheduled); with one it replaces the stored appointment's fields except its status, which
// changes only through Event (say, a cancellation), applied by the life-cycle rules and
// kept in the history like any other. Every appointment must belong to the clinic and
// carry an ExternalID.
type ImportWrite struct {
	Appointment Appointment
	Event       *EventInput
}

// bktApptByExternal maps clinic ID, 0, external ID to an appointment ID (schema 2).
var bktApptByExternal = []byte("appointments_by_external")

func migrateExternalIDs(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bktApptByExternal)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bktApptByExternal, err)
	}
	// Schema 1 had no external IDs, so there is nothing to index; a file that someone
	// wrote them into by hand is indexed all the same.
	return tx.Bucket(bktAppointments).ForEach(func(k, v []byte) error {
		var a Appointment
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode appointment %s: %w", k, err)
		}
		if a.ExternalID == "" {
			return nil
		}
		return idx.Put(externalKey(a.ClinicID, a.ExternalID), []byte(a.ID))
	})
}

func externalKey(clinicID, externalID string) []byte {
	k := make([]byte, 0, len(clinicID)+1+len(externalID))
	k = append(k, clinicID...)
	k = append(k, 0)
	return append(k, externalID...)
}

// putExternalIndex indexes a's external ID, refusing one another appointment of the clinic has.
func putExternalIndex(tx *bolt.Tx, a *Appointment) error {
	if a.ExternalID == "" {
		return nil
	}
	idx := tx.Bucket(bktApptByExternal)
	k := externalKey(a.ClinicID, a.ExternalID)
	if owner := idx.Get(k); owner != nil && string(owner) != a.ID {
		return fmt.Errorf("appointment external ID %q in clinic %s: %w", a.ExternalID, a.ClinicID, ErrConflict)
	}
	return idx.Put(k, []byte(a.ID))
}

func deleteExternalIndex(tx *bolt.Tx, a *Appointment) error {
	if a.ExternalID == "" {
		return nil
	}
	return tx.Bucket(bktApptByExternal).Delete(externalKey(a.ClinicID, a.ExternalID))
}

// checkImported validates one appointment a plan returned.
func checkImported(clinicID string, a *Appointment, old *Appointment, ev *EventInput) error {
	if old == nil && (a.Status != appointment.Scheduled || ev != nil) {
		return fmt.Errorf("import: a new appointment must be scheduled, with no event: %w", ErrInvalid)
	}
	if a.ClinicID != clinicID {
		return fmt.Errorf("import into clinic %s: appointment for clinic %s: %w", clinicID, a.ClinicID, ErrInvalid)
	}
	if a.ExternalID == "" {
		return fmt.Errorf("import: appointment without an external ID: %w", ErrInvalid)
	}
	if old != nil && old.ClinicID != clinicID {
		return fmt.Errorf("import into clinic %s: appointment %s is clinic %s's: %w", clinicID, a.ID, old.ClinicID, ErrInvalid)
	}
	return validateAppointment(a)
}

func (s *Bolt) AppointmentsByExternalID(clinicID string, ids []string) (map[string]Appointment, error) {
	out := make(map[string]Appointment, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error { return s.externalLookup(tx, clinicID, ids, out) })
	return out, err
}

func (s *Bolt) externalLookup(tx *bolt.Tx, clinicID string, ids []string, out map[string]Appointment) error {
	idx, appts := tx.Bucket(bktApptByExternal), tx.Bucket(bktAppointments)
	for _, ext := range ids {
		id := idx.Get(externalKey(clinicID, ext))
		if id == nil {
			continue
		}
		var a Appointment
		if err := getJSON(appts, string(id), &a, "appointment"); err != nil {
			return err
		}
		out[ext] = a
	}
	return nil
}

func (s *Bolt) ImportAppointments(clinicID string, ids []string, plan ImportPlan) ([]Appointment, error) {
	var written []Appointment
	err := s.db.Update(func(tx *bolt.Tx) error {
		existing := make(map[string]Appointment, len(ids))
		if err := s.externalLookup(tx, clinicID, ids, existing); err != nil {
			return err
		}
		want, err := plan(existing)
		if err != nil {
			return err
		}
		b := tx.Bucket(bktAppointments)
		for i := range want {
			a := want[i].Appointment
			var recs []appointment.Record
			if a.ID == "" {
				a.ID = NewID()
				if err := checkImported(clinicID, &a, nil, want[i].Event); err != nil {
					return err
				}
				if b.Get([]byte(a.ID)) != nil {
					return fmt.Errorf("appointment %s: %w", a.ID, ErrConflict)
				}
			} else {
				var old Appointment
				if err := getJSON(b, a.ID, &old, "appointment"); err != nil {
					return err
				}
				a.Status = old.Status
				if err := checkImported(clinicID, &a, &old, nil); err != nil {
					return err
				}
				if ev := want[i].Event; ev != nil {
					if recs, err = applyEvents(&a, []EventInput{*ev}); err != nil {
						return err
					}
				}
				if err := deleteAppointmentIndex(tx, &old); err != nil {
					return err
				}
			}
			for j := range recs {
				if err := putRecord(tx, &recs[j]); err != nil {
					return err
				}
			}
			if err := putAppointmentIndex(tx, &a); err != nil {
				return err
			}
			if err := putJSON(b, a.ID, &a); err != nil {
				return err
			}
			written = append(written, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}

func (m *Memory) AppointmentsByExternalID(clinicID string, ids []string) (map[string]Appointment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.externalLookup(clinicID, ids), nil
}

// externalLookup must hold mu.
func (m *Memory) externalLookup(clinicID string, ids []string) map[string]Appointment {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := make(map[string]Appointment, len(ids))
	for _, a := range m.appointments {
		if a.ClinicID == clinicID && a.ExternalID != "" && want[a.ExternalID] {
			out[a.ExternalID] = a
		}
	}
	return out
}

// externalFree must hold mu.
func (m *Memory) externalFree(a *Appointment) error {
	if a.ExternalID == "" {
		return nil
	}
	for _, o := range m.appointments {
		if o.ID != a.ID && o.ClinicID == a.ClinicID && o.ExternalID == a.ExternalID {
			return fmt.Errorf("appointment external ID %q in clinic %s: %w", a.ExternalID, a.ClinicID, ErrConflict)
		}
	}
	return nil
}

func (m *Memory) ImportAppointments(clinicID string, ids []string, plan ImportPlan) ([]Appointment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want, err := plan(m.externalLookup(clinicID, ids))
	if err != nil {
		return nil, err
	}
	// Check everything first: the map has no rollback.
	byExt := map[string]string{} // external ID -> appointment ID, as it will be
	for _, a := range m.appointments {
		if a.ClinicID == clinicID && a.ExternalID != "" {
			byExt[a.ExternalID] = a.ID
		}
	}
	written := make([]Appointment, 0, len(want))
	var recs []appointment.Record
	for i := range want {
		a := want[i].Appointment
		var old *Appointment
		if a.ID == "" {
			a.ID = NewID()
			if err := checkImported(clinicID, &a, nil, want[i].Event); err != nil {
				return nil, err
			}
		} else {
			o, ok := m.appointments[a.ID]
			if !ok {
				return nil, fmt.Errorf("appointment %s: %w", a.ID, ErrNotFound)
			}
			old = &o
			a.Status = o.Status
			if err := checkImported(clinicID, &a, old, nil); err != nil {
				return nil, err
			}
			if ev := want[i].Event; ev != nil {
				r, err := applyEvents(&a, []EventInput{*ev})
				if err != nil {
					return nil, err
				}
				recs = append(recs, r...)
			}
		}
		if owner, ok := byExt[a.ExternalID]; ok && owner != a.ID {
			return nil, fmt.Errorf("appointment external ID %q in clinic %s: %w", a.ExternalID, clinicID, ErrConflict)
		}
		if old != nil && old.ExternalID != a.ExternalID {
			delete(byExt, old.ExternalID)
		}
		byExt[a.ExternalID] = a.ID
		written = append(written, a)
	}
	for _, a := range written {
		m.appointments[a.ID] = a
	}
	for _, r := range recs {
		m.putRecord(r)
	}
	return written, nil
}
