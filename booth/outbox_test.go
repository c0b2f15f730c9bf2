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
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	bolt "go.etcd.io/bbolt"
)

// storeImpls opens an empty store of every implementation, for the contract tests.
func storeImpls() map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
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
}

// TestOutboxContract runs the outbox, local status and settings behaviour against every
// Store implementation.
func TestOutboxContract(t *testing.T) {
	impls := storeImpls()
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
			if err := s.Ack(map[string]appointment.Status{"a1": "waiting"}, keys[0], keys[1], "someone-else-1"); err != nil {
				t.Fatal(err)
			}
			if evs, _ := s.Outbox(0, 0); len(evs) != 2 || evs[0].Key != keys[2] {
				t.Errorf("after a partial ack: got %+v, want the last two", evs)
			}
			if got, _ := s.Get("a1"); got.Local != appointment.WindowOpen {
				t.Errorf("a1 local with events still pending: got %s, want window_open", got.Local)
			}
			// All delivered: the switchboard's view wins.
			if err := s.Ack(map[string]appointment.Status{"a1": "no_show"}, keys[2], keys[3]); err != nil {
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
			if err := s.SaveSettings(Settings{Seq: 3, JoinMode: device.JoinButton}); err != nil {
				t.Fatal(err)
			}
			if set, _ := s.Settings(); set.Seq != 3 || set.JoinMode != device.JoinButton {
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

// TestEndPressContract: an End press is kept with its appointment, with the leave it
// records or alone, through schedules, acknowledgements and done marks, until Join undoes
// it; against every Store implementation.
func TestEndPressContract(t *testing.T) {
	a1, a2 := appt("a1", t0), appt("a2", t0.Add(30*time.Minute))
	a1.Status, a2.Status = "scheduled", "scheduled"
	for name, open := range storeImpls() {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			press := func(id string) EndPress {
				t.Helper()
				a, err := s.Get(id)
				if err != nil {
					t.Fatal(err)
				}
				return a.EndPress
			}
			if err := s.ReplaceSchedule([]signalling.Appointment{a1, a2}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Decide("nope", EndHeld, "", t0); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown appointment: got %v, want ErrNotFound", err)
			}
			if _, err := s.Record("a1", appointment.OpenWindow, t0); err != nil {
				t.Fatal(err)
			}
			// Held in the window: kept, nothing recorded.
			if _, ok, err := s.Decide("a1", EndHeld, "", t0); err != nil || ok {
				t.Fatalf("End held: got recorded %v, %v, want kept without an event", ok, err)
			}
			if got := press("a1"); got != EndHeld {
				t.Errorf("a1 after End held: got %q, want %q", got, EndHeld)
			}
			if evs, _ := s.Outbox(0, 0); len(evs) != 1 {
				t.Errorf("outbox after End held: got %+v, want only the window_open", evs)
			}
			// Join undoes it, in the arrive's transaction.
			if _, ok, err := s.Decide("a1", NoEndPress, appointment.Arrive, t0); err != nil || !ok {
				t.Fatalf("Join: got recorded %v, %v, want the arrive", ok, err)
			}
			if got, _ := s.Get("a1"); got.EndPress != NoEndPress || got.Local != appointment.Waiting {
				t.Errorf("a1 after Join: got %q, %s, want no End press, waiting", got.EndPress, got.Local)
			}
			// End in the waiting room: the leave and "left" together.
			e, ok, err := s.Decide("a1", EndLeft, appointment.Leave, t0)
			if err != nil || !ok || e.Event != appointment.Leave {
				t.Fatalf("End while waiting: got %+v, recorded %v, %v, want the leave", e, ok, err)
			}
			if got, _ := s.Get("a1"); got.EndPress != EndLeft || got.Local != appointment.WindowOpen {
				t.Errorf("a1 after End: got %q, %s, want left, window_open", got.EndPress, got.Local)
			}
			// A leave the booth's view does not allow is not recorded; the press is kept.
			if _, err := s.Record("a2", appointment.OpenWindow, t0); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.Decide("a2", EndLeft, appointment.Leave, t0); err != nil || ok {
				t.Fatalf("leave of a2, not waiting: got recorded %v, %v, want kept without an event", ok, err)
			}
			if got := press("a2"); got != EndLeft {
				t.Errorf("a2: got %q, want left", got)
			}
			if evs, _ := s.Outbox(0, 0); len(evs) != 4 {
				t.Errorf("outbox: got %+v, want a1's window_open, arrive, leave and a2's window_open", evs)
			}
			// Kept through a schedule, the acknowledgements and a done mark.
			a1s := a1
			a1s.Status = "window_open"
			if err := s.ReplaceSchedule([]signalling.Appointment{a1s, a2}); err != nil {
				t.Fatal(err)
			}
			evs, _ := s.Outbox(0, 0)
			var keys []string
			for _, e := range evs {
				keys = append(keys, e.Key)
			}
			if err := s.Ack(map[string]appointment.Status{"a1": "window_open"}, keys...); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkDone("a2"); err != nil {
				t.Fatal(err)
			}
			if got, got2 := press("a1"), press("a2"); got != EndLeft || got2 != EndLeft {
				t.Errorf("after a schedule, acks and a done mark: got %q and %q, want both left", got, got2)
			}
			// Gone with its appointment.
			if err := s.ReplaceSchedule([]signalling.Appointment{a1s}); err != nil {
				t.Fatal(err)
			}
			if err := s.ReplaceSchedule([]signalling.Appointment{a1s, a2}); err != nil {
				t.Fatal(err)
			}
			if got := press("a2"); got != NoEndPress {
				t.Errorf("a2 dropped from the schedule and back: got %q, want none", got)
			}
		})
	}
}

// A version 2 booth.db (appointments stored as the protocol's type, no End presses) opens
// at version 3 with its schedule, done marks, local statuses, outbox and settings, and
// keeps End presses from then on. A record that cannot be read is dropped.
func TestBoltStoreMigratesVersion2(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, BoltFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As boothd with schema 2 wrote them.
	a1 := `{"id":"a1","clinic_id":"clinic-1","clinic_name":"Eye clinic","device_id":"dev-1","patient":"A. Patient",` +
		`"start":"2026-11-21T09:00:00Z","end":"2026-11-21T09:20:00Z","status":"waiting","done":true,"local":"window_open"}`
	a2 := `{"id":"a2","clinic_id":"clinic-1","device_id":"dev-1","patient":"B. Patient",` +
		`"start":"2026-11-21T10:00:00Z","end":"2026-11-21T10:20:00Z","status":"scheduled","local":"scheduled"}`
	leave := `{"seq":7,"key":"store2-7","appointment_id":"a1","event":"leave","at":"2026-11-21T09:05:00Z"}`
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		b, _ := tx.CreateBucket(bucketAppts)
		out, _ := tx.CreateBucket(bucketOutbox)
		b.Put([]byte("a1"), []byte(a1))
		b.Put([]byte("a2"), []byte(a2))
		b.Put([]byte("bad"), []byte("{not json"))
		out.SetSequence(7)
		out.Put(binary.BigEndian.AppendUint64(nil, 7), []byte(leave))
		meta.Put(keyStoreID, []byte("store2"))
		meta.Put(keySettings, []byte(`{"seq":2,"join_mode":"button"}`))
		return meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, 2))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatalf("open a version 2 file: %v", err)
	}
	defer s.Close()
	got, err := s.Get("a1")
	want := Appointment{Appointment: signalling.Appointment{ID: "a1", ClinicID: "clinic-1", ClinicName: "Eye clinic", DeviceID: "dev-1",
		Patient: "A. Patient", Start: t0, End: t0.Add(20 * time.Minute), Status: "waiting"}, Done: true, Local: appointment.WindowOpen}
	if err != nil || got != want {
		t.Errorf("a1 after migration: got %+v, %v, want %+v", got, err, want)
	}
	if up, err := s.Upcoming(t0); err != nil || len(up) != 2 {
		t.Errorf("upcoming after migration: got %+v, %v, want a1 and a2 (the unreadable record dropped)", up, err)
	}
	if evs, err := s.Outbox(0, 0); err != nil || len(evs) != 1 || evs[0].Key != "store2-7" || evs[0].Event != appointment.Leave {
		t.Errorf("outbox after migration: got %+v, %v, want the leave", evs, err)
	}
	if set, err := s.Settings(); err != nil || set.Seq != 2 || set.JoinMode != device.JoinButton {
		t.Errorf("settings after migration: got %+v, %v", set, err)
	}
	e, ok, err := s.Decide("a2", EndHeld, "", t0)
	if err != nil || ok {
		t.Fatalf("End held after migration: got %+v, %v, %v", e, ok, err)
	}
	if e, err := s.Record("a2", appointment.OpenWindow, t0); err != nil || e.Key != "store2-8" {
		t.Errorf("next event: got %+v, %v, want key store2-8", e, err)
	}
	var version []byte
	s.db.View(func(tx *bolt.Tx) error {
		version = append(version, tx.Bucket(bucketMeta).Get(keySchema)...)
		return nil
	})
	if v := binary.BigEndian.Uint32(version); v != boltSchemaVersion {
		t.Errorf("schema version: got %d, want %d", v, boltSchemaVersion)
	}
	if kept, err := s.KeptQuality(); err != nil || len(kept) != 0 {
		t.Errorf("kept quality after migrating: got %v, %v; want none (the bucket made)", kept, err)
	}
	s.Close()
	s, err = OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("a2"); got.EndPress != EndHeld || got.Local != appointment.WindowOpen {
		t.Errorf("a2 reopened: got %q, %s, want held, window_open", got.EndPress, got.Local)
	}
}

func TestBoltSchemaVersionIsMigrations(t *testing.T) {
	if len(boltMigrations) != boltSchemaVersion {
		t.Errorf("got %d migrations, want boltSchemaVersion %d", len(boltMigrations), boltSchemaVersion)
	}
}
