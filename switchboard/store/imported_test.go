package store

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/carebooth/carebooth/appointment"
)

// TestImportContract runs the import part of the contract against every implementation.
func TestImportContract(t *testing.T) {
	impls := allStores()
	for name, open := range impls {
		t.Run(name, func(t *testing.T) { testImportContract(t, open(t)) })
	}
}

func testImportContract(t *testing.T, s Store) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	mk := func(ext string, start time.Time) Appointment {
		return Appointment{ClinicID: "c1", DeviceID: "d1", Patient: "P " + ext, Start: start, End: start.Add(20 * time.Minute),
			Status: appointment.Scheduled, CreatedAt: t0, UpdatedAt: t0, ExternalID: ext}
	}
	// A booked-here appointment (no external ID) is never matched.
	local := Appointment{ClinicID: "c1", DeviceID: "d1", Patient: "Local", Start: t0, End: t0.Add(time.Hour), Status: appointment.Scheduled}
	if err := s.CreateAppointment(&local); err != nil {
		t.Fatal(err)
	}

	var seen map[string]Appointment
	written, err := s.ImportAppointments("c1", []string{"a", "b"}, func(existing map[string]Appointment) ([]ImportWrite, error) {
		seen = existing
		return []ImportWrite{{Appointment: mk("a", t0)}, {Appointment: mk("b", t0.Add(time.Hour))}}, nil
	})
	if err != nil || len(written) != 2 || written[0].ID == "" || written[1].ID == "" {
		t.Fatalf("first import: got %+v, %v, want two appointments with IDs", written, err)
	}
	if len(seen) != 0 {
		t.Errorf("first import saw %d existing, want 0", len(seen))
	}
	got, err := s.AppointmentsByExternalID("c1", []string{"a", "b", "zzz"})
	if err != nil || len(got) != 2 || got["a"].ID != written[0].ID || got["b"].Patient != "P b" {
		t.Errorf("AppointmentsByExternalID: got %+v, %v", got, err)
	}
	if got, _ := s.AppointmentsByExternalID("c2", []string{"a"}); len(got) != 0 {
		t.Errorf("another clinic's lookup: got %+v, want none", got)
	}

	// Moving one by re-import updates it in place and keeps the time index right.
	_, err = s.ImportAppointments("c1", []string{"a"}, func(existing map[string]Appointment) ([]ImportWrite, error) {
		a, ok := existing["a"]
		if !ok {
			t.Errorf("second import: existing has no %q: %+v", "a", existing)
		}
		a.Start, a.End = t0.Add(5*time.Hour), t0.Add(5*time.Hour+20*time.Minute)
		a.Status = appointment.Ended // ignored: status changes only by event
		return []ImportWrite{{Appointment: a}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if as, _ := s.AppointmentsByClinic("c1", t0.Add(5*time.Hour), t0.Add(6*time.Hour)); len(as) != 1 || as[0].ExternalID != "a" {
		t.Errorf("after move: got %+v, want appointment a", as)
	}
	if as, _ := s.AppointmentsByClinic("c1", t0, t0.Add(10*time.Minute)); len(as) != 1 || as[0].ID != local.ID {
		t.Errorf("old slot after move: got %+v, want only the local appointment", as)
	}
	if a, _ := s.Appointment(written[0].ID); a.Status != appointment.Scheduled {
		t.Errorf("status after an update that set it: got %s, want %s", a.Status, appointment.Scheduled)
	}

	// A cancellation goes through the life cycle and is kept in the history.
	cancel := &EventInput{Event: appointment.Cancel, Actor: appointment.Actor{Kind: appointment.ActorClinician, ID: "dr"}, At: t0, Received: t0}
	_, err = s.ImportAppointments("c1", []string{"b"}, func(existing map[string]Appointment) ([]ImportWrite, error) {
		return []ImportWrite{{Appointment: existing["b"], Event: cancel}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Appointment(written[1].ID); a.Status != appointment.Cancelled {
		t.Errorf("after an import cancelled it: got status %s, want %s", a.Status, appointment.Cancelled)
	}
	if h, err := s.History(written[1].ID); err != nil || len(h) != 1 || h[0].Event != appointment.Cancel || h[0].Actor.ID != "dr" {
		t.Errorf("history after an import cancelled it: got %+v, %v, want one cancel record by dr", h, err)
	}
	// Cancelling again is illegal (cancelled is final) and aborts the import.
	_, err = s.ImportAppointments("c1", []string{"b"}, func(existing map[string]Appointment) ([]ImportWrite, error) {
		return []ImportWrite{{Appointment: existing["b"], Event: cancel}}, nil
	})
	if !errors.Is(err, appointment.ErrIllegal) {
		t.Errorf("cancelling a cancelled appointment: got %v, want ErrIllegal", err)
	}

	// Any error aborts everything, including what came before it in the same plan.
	before, _ := s.AppointmentsByClinic("c1", t0.Add(-time.Hour), t0.Add(24*time.Hour))
	tests := map[string]struct {
		plan ImportPlan
		want error
	}{
		"plan error": {func(map[string]Appointment) ([]ImportWrite, error) {
			return nil, errors.New("refused")
		}, nil},
		"invalid second": {func(map[string]Appointment) ([]ImportWrite, error) {
			bad := mk("d", t0)
			bad.End = bad.Start
			return []ImportWrite{{Appointment: mk("c", t0)}, {Appointment: bad}}, nil
		}, ErrInvalid},
		"duplicate external ID": {func(map[string]Appointment) ([]ImportWrite, error) {
			return []ImportWrite{{Appointment: mk("c", t0)}, {Appointment: mk("a", t0)}}, nil
		}, ErrConflict},
		"other clinic": {func(map[string]Appointment) ([]ImportWrite, error) {
			a := mk("c", t0)
			a.ClinicID = "c2"
			return []ImportWrite{{Appointment: a}}, nil
		}, ErrInvalid},
		"no external ID": {func(map[string]Appointment) ([]ImportWrite, error) {
			return []ImportWrite{{Appointment: mk("", t0)}}, nil
		}, ErrInvalid},
		"new but not scheduled": {func(map[string]Appointment) ([]ImportWrite, error) {
			a := mk("c", t0)
			a.Status = appointment.Ended
			return []ImportWrite{{Appointment: a}}, nil
		}, ErrInvalid},
		"unknown ID": {func(map[string]Appointment) ([]ImportWrite, error) {
			a := mk("c", t0)
			a.ID = "nope"
			return []ImportWrite{{Appointment: a}}, nil
		}, ErrNotFound},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := s.ImportAppointments("c1", []string{"c", "d"}, tt.plan)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			after, _ := s.AppointmentsByClinic("c1", t0.Add(-time.Hour), t0.Add(24*time.Hour))
			if len(after) != len(before) {
				t.Errorf("after a refused import: got %d appointments, want %d", len(after), len(before))
			}
			if got, _ := s.AppointmentsByExternalID("c1", []string{"c", "d"}); len(got) != 0 {
				t.Errorf("after a refused import: external IDs c, d resolve to %+v, want nothing", got)
			}
		})
	}

	// CreateAppointment and UpdateAppointment keep external IDs unique too.
	dup := mk("a", t0)
	if err := s.CreateAppointment(&dup); !errors.Is(err, ErrConflict) {
		t.Errorf("CreateAppointment with a taken external ID: got %v, want ErrConflict", err)
	}
	if _, err := s.UpdateAppointment(local.ID, func(a *Appointment) error { a.ExternalID = "b"; return nil }); !errors.Is(err, ErrConflict) {
		t.Errorf("UpdateAppointment to a taken external ID: got %v, want ErrConflict", err)
	}
	other := mk("a", t0)
	other.ClinicID = "c2"
	if err := s.CreateAppointment(&other); err != nil {
		t.Errorf("the same external ID in another clinic: got %v, want nil", err)
	}
}

// A schema 1 file migrates to 2 with its appointments' external IDs indexed.
func TestBoltMigratesToExternalIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	a := Appointment{ID: "a1", ClinicID: "c1", DeviceID: "d1", Patient: "P", Start: t0, End: t0.Add(time.Hour), Status: appointment.Scheduled, ExternalID: "ical:x"}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := migrations[0](tx); err != nil {
			return err
		}
		raw, _ := json.Marshal(a)
		if err := tx.Bucket(bktAppointments).Put([]byte(a.ID), raw); err != nil {
			return err
		}
		return tx.Bucket(bktMeta).Put(keySchemaVersion, []byte("1"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(); v != SchemaVersion || v < 2 {
		t.Errorf("schema version: got %d, want %d", v, SchemaVersion)
	}
	if got, err := s.AppointmentsByExternalID("c1", []string{"ical:x"}); err != nil || got["ical:x"].ID != "a1" {
		t.Errorf("after migration: got %+v, %v, want a1", got, err)
	}
}
