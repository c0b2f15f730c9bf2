package booth

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	bolt "go.etcd.io/bbolt"
)

// TestOutboxContract runs the outbox, local status and settings behaviour against every
// Store implementation.
func TestOutboxContract(t *testing.T) {
	impls := map[string]func(t *testing.T) Store{
		"mem": func(t *testing.T) Store { return NewMemStore() },
		"bolt": func(t *testing.T) Store {
			s, err := OpenBoltStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	a1 := appt("a1", t0)
	a2 := appt("a2", t0.Add(30*time.Minute))
	a1.Status, a2.Status = "scheduled", "scheduled"
	for name, open := range impls {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if err := s.ReplaceSchedule([]signalling.Appointment{a1, a2}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Record("a1", appointment.Arrive, t0); !errors.Is(err, appointment.ErrIllegal) {
				t.Fatalf("arrive before the window: got %v, want ErrIllegal", err)
			}
			if _, err := s.Record("nope", appointment.OpenWindow, t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown appointment: got %v, want ErrNotFound", err)
			}
			if evs, _ := s.Outbox(0, 0); len(evs) != 0 {
				t.Fatalf("refused events were written: %+v", evs)
			}
			var keys []string
			for _, step := range []struct {
				id string
				ev appointment.Event
			}{{"a1", appointment.OpenWindow}, {"a1", appointment.Arrive}, {"a1", appointment.Leave}, {"a2", appointment.OpenWindow}} {
				e, err := s.Record(step.id, step.ev, t0)
				if err != nil {
					t.Fatalf("record %s %s: %v", step.id, step.ev, err)
				}
				keys = append(keys, e.Key)
			}
			if got, _ := s.Get("a1"); got.Local != appointment.WindowOpen {
				t.Errorf("a1 local: got %s, want window_open", got.Local)
			}
			evs, err := s.Outbox(0, 0)
			if err != nil || len(evs) != 4 {
				t.Fatalf("outbox: got %+v, %v, want 4 events", evs, err)
			}
			seen := map[string]bool{}
			for i, e := range evs {
				if i > 0 && e.Seq <= evs[i-1].Seq {
					t.Errorf("outbox order: seq %d after %d", e.Seq, evs[i-1].Seq)
				}
				if e.Key != keys[i] || seen[e.Key] || !signalling.ValidID(e.Key) {
					t.Errorf("key %d: got %q, want %q, unique and a valid ID", i, e.Key, keys[i])
				}
				seen[e.Key] = true
			}
			if page, _ := s.Outbox(evs[1].Seq, 1); len(page) != 1 || page[0].Key != keys[2] {
				t.Errorf("outbox after seq %d, limit 1: got %+v, want the third", evs[1].Seq, page)
			}
			// A schedule does not overwrite the booth's view while its events wait.
			a1s := a1
			a1s.Status = "scheduled"
			if err := s.ReplaceSchedule([]signalling.Appointment{a1s, a2}); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get("a1"); got.Local != appointment.WindowOpen {
				t.Errorf("a1 local after a schedule with events pending: got %s, want window_open", got.Local)
			}
			// Acknowledged in part: the rest stay, the view stays the booth's.
			if err := s.Ack(map[string]string{"a1": "waiting"}, keys[0], keys[1], "someone-else-1"); err != nil {
				t.Fatal(err)
			}
			if evs, _ := s.Outbox(0, 0); len(evs) != 2 || evs[0].Key != keys[2] {
				t.Errorf("after a partial ack: got %+v, want the last two", evs)
			}
			if got, _ := s.Get("a1"); got.Local != appointment.WindowOpen {
				t.Errorf("a1 local with events still pending: got %s, want window_open", got.Local)
			}
			// All delivered: the switchboard's view wins.
			if err := s.Ack(map[string]string{"a1": "no_show"}, keys[2], keys[3]); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get("a1"); got.Local != appointment.NoShow {
				t.Errorf("a1 local after the last ack: got %s, want the switchboard's no_show", got.Local)
			}
			if err := s.Ack(nil, keys[0]); err != nil {
				t.Errorf("acknowledging again: %v, want nothing to do", err)
			}
			// Settings.
			if set, err := s.Settings(); err != nil || set != (Settings{}) {
				t.Errorf("settings at first: got %+v, %v", set, err)
			}
			if err := s.SaveSettings(Settings{Seq: 3, JoinMode: JoinButton}); err != nil {
				t.Fatal(err)
			}
			if set, _ := s.Settings(); set.Seq != 3 || set.JoinMode != JoinButton {
				t.Errorf("settings: got %+v", set)
			}
		})
	}
}

// Keys of a store that was wiped never repeat those of the old one, though sequences
// start again at 1: the switchboard would otherwise drop new events as duplicates.
func TestOutboxKeysSurviveAWipe(t *testing.T) {
	key := func(dir string) string {
		s, err := OpenBoltStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		a := appt("a1", t0)
		a.Status = "scheduled"
		s.ReplaceSchedule([]signalling.Appointment{a})
		e, err := s.Record("a1", appointment.OpenWindow, t0)
		if err != nil {
			t.Fatal(err)
		}
		return e.Key
	}
	if k1, k2 := key(t.TempDir()), key(t.TempDir()); k1 == k2 {
		t.Errorf("two fresh stores both made key %q", k1)
	}
}

// A version 1 booth.db (before the outbox) opens, keeps its schedule and gains an outbox.
func TestBoltStoreMigratesVersion1(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, BoltFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := Appointment{Appointment: appt("a1", t0), Done: true}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		b, _ := tx.CreateBucket(bucketAppts)
		data, _ := json.Marshal(old)
		b.Put([]byte("a1"), data)
		return meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, 1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Get("a1"); err != nil || !got.Done {
		t.Errorf("after migration: got %+v, %v, want a1 done", got, err)
	}
	if _, err := s.Record("a1", appointment.OpenWindow, t0); err != nil {
		t.Errorf("record after migration: %v", err)
	}
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, boltSchemaVersion+1))
	})
	s.Close()
	if _, err := OpenBoltStore(dir); err == nil {
		t.Error("a newer schema opened, want it refused")
	}
}

// A long offline spell fills the outbox; once it is delivered, the next start shrinks the
// file, and the sequence carries on.
func TestBoltStoreCompactsAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := appt("a1", t0)
	a.Status = "scheduled"
	s.ReplaceSchedule([]signalling.Appointment{a})
	var keys []string
	var last uint64
	err = s.db.Update(func(tx *bolt.Tx) error { // 20,000 events in one go, to be quick
		out := tx.Bucket(bucketOutbox)
		for i := 0; i < 20000; i++ {
			seq, _ := out.NextSequence()
			e := OutboxEvent{Seq: seq, Key: eventKey(s.id, seq), AppointmentID: "a1", Event: appointment.OpenWindow, At: t0}
			data, _ := json.Marshal(e)
			out.Put(binary.BigEndian.AppendUint64(nil, seq), data)
			keys = append(keys, e.Key)
			last = seq
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(nil, keys...); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, BoltFile)
	before, _ := os.Stat(path)
	s, err = OpenBoltStoreWith(dir, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, _ := os.Stat(path)
	if c := s.Compaction(); !c.Done || after.Size() >= before.Size()/2 {
		t.Fatalf("got %+v, %d -> %d bytes, want the file compacted to under half", c, before.Size(), after.Size())
	}
	e, err := s.Record("a1", appointment.OpenWindow, t0)
	if err != nil || e.Seq != last+1 {
		t.Errorf("next event: got seq %d, %v, want %d", e.Seq, err, last+1)
	}
	t.Logf("booth.db %d -> %d bytes", before.Size(), after.Size())
}
