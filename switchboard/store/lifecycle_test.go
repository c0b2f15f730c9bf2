package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	bolt "go.etcd.io/bbolt"
)

func allStores() map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"memory": func(t *testing.T) Store { return NewMemory() },
		"bolt": func(t *testing.T) Store {
			s, err := OpenBolt(filepath.Join(t.TempDir(), "switchboard.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// TestStoresLifecycle is the contract for the appointment life cycle, history, applied
// keys and the device push queue, run against every implementation.
func TestStoresLifecycle(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	dev := appointment.Actor{Kind: appointment.ActorDevice, ID: "d1"}
	doc := appointment.Actor{Kind: appointment.ActorClinician, ID: "c1"}
	newAppt := func(t *testing.T, s Store) Appointment {
		a := Appointment{ClinicID: "c1", DeviceID: "d1", Patient: "P", Start: t0, End: t0.Add(20 * time.Minute), Status: appointment.Scheduled}
		if err := s.CreateAppointment(&a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	ev := func(e appointment.Event, actor appointment.Actor, min int, key string) EventInput {
		at := t0.Add(time.Duration(min) * time.Minute)
		return EventInput{Key: key, Event: e, Actor: actor, At: at, Received: at.Add(time.Second)}
	}
	events := func(rs []appointment.Record) string {
		out := ""
		for _, r := range rs {
			out += fmt.Sprintf("%s:%s>%s;", r.Event, r.From, r.To)
			if r.Refused != "" {
				out += "refused;"
			}
		}
		return out
	}
	for name, open := range allStores() {
		t.Run(name, func(t *testing.T) {
			t.Run("apply and history", func(t *testing.T) {
				s := open(t)
				a := newAppt(t, s)
				got, recs, err := s.Apply(a.ID, ev(appointment.OpenWindow, appointment.System, -10, ""), ev(appointment.Arrive, dev, -9, "k1"))
				if err != nil || got.Status != appointment.Waiting || len(recs) != 2 {
					t.Fatalf("got %s, %d records, %v, want waiting and 2 records", got.Status, len(recs), err)
				}
				if !got.UpdatedAt.Equal(t0.Add(-9*time.Minute + time.Second)) {
					t.Errorf("updated_at: got %v, want the last event's receipt", got.UpdatedAt)
				}
				if _, _, err := s.Apply(a.ID, ev(appointment.Admit, doc, -5, "")); err != nil {
					t.Fatal(err)
				}
				h, err := s.History(a.ID)
				if err != nil {
					t.Fatal(err)
				}
				if want := "window_open:scheduled>window_open;arrive:window_open>waiting;admit:waiting>in_call;"; events(h) != want {
					t.Errorf("history: got %s, want %s", events(h), want)
				}
				if h[1].Actor != dev || h[1].Key != "k1" || !h[1].At.Equal(t0.Add(-9*time.Minute)) {
					t.Errorf("arrive record: got %+v, want actor, key and time kept", h[1])
				}
				if _, err := s.History("nope"); !errors.Is(err, ErrNotFound) {
					t.Errorf("history of unknown: got %v, want ErrNotFound", err)
				}
				if _, _, err := s.Apply("nope", ev(appointment.Cancel, doc, 0, "")); !errors.Is(err, ErrNotFound) {
					t.Errorf("apply to unknown: got %v, want ErrNotFound", err)
				}
			})
			t.Run("illegal changes nothing", func(t *testing.T) {
				s := open(t)
				a := newAppt(t, s)
				if _, _, err := s.Apply(a.ID, ev(appointment.Admit, doc, 0, "")); !errors.Is(err, appointment.ErrIllegal) {
					t.Fatalf("admit while scheduled: got %v, want ErrIllegal", err)
				}
				// The first event is legal, the second is not: neither is applied.
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, appointment.System, 0, ""), ev(appointment.End, doc, 0, "")); !errors.Is(err, appointment.ErrIllegal) {
					t.Fatalf("chain: got %v, want ErrIllegal", err)
				}
				// A chain is all-or-nothing even with keys.
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, dev, 0, "x1"), ev(appointment.Leave, dev, 0, "x2")); !errors.Is(err, appointment.ErrIllegal) {
					t.Fatalf("keyed chain: got %v, want ErrIllegal", err)
				}
				got, _ := s.Appointment(a.ID)
				h, _ := s.History(a.ID)
				if got.Status != appointment.Scheduled || len(h) != 0 {
					t.Errorf("got %s and %d records, want scheduled and none", got.Status, len(h))
				}
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, dev, 0, "x1")); err != nil {
					t.Errorf("x1 after the refused chain: got %v, want it still unapplied", err)
				}
			})
			t.Run("keys apply once", func(t *testing.T) {
				s := open(t)
				a := newAppt(t, s)
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, dev, 0, "k1")); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, dev, 0, "k1")); !errors.Is(err, ErrDuplicate) {
					t.Fatalf("replay: got %v, want ErrDuplicate", err)
				}
				// A keyed event that is no longer legal is kept, refused, and never retried.
				if _, _, err := s.Apply(a.ID, ev(appointment.MarkNoShow, doc, 1, "")); err != nil {
					t.Fatal(err)
				}
				got, recs, err := s.Apply(a.ID, ev(appointment.Arrive, dev, 2, "k2"))
				if !errors.Is(err, appointment.ErrIllegal) || got.Status != appointment.NoShow || len(recs) != 1 || recs[0].Refused == "" {
					t.Fatalf("stale arrive: got %s, %+v, %v, want no_show kept, a refused record and ErrIllegal", got.Status, recs, err)
				}
				if _, _, err := s.Apply(a.ID, ev(appointment.Arrive, dev, 2, "k2")); !errors.Is(err, ErrDuplicate) {
					t.Errorf("refused key again: got %v, want ErrDuplicate", err)
				}
				h, _ := s.History(a.ID)
				if want := "window_open:scheduled>window_open;no_show:window_open>no_show;arrive:no_show>no_show;refused;"; events(h) != want {
					t.Errorf("history: got %s, want %s", events(h), want)
				}
				if n, err := s.PruneEventKeys(t0.Add(2 * time.Minute)); err != nil || n != 1 {
					t.Errorf("prune: got %d, %v, want 1 (k1; k2 was received later)", n, err)
				}
				if _, _, err := s.Apply(a.ID, ev(appointment.Arrive, dev, 2, "k2")); !errors.Is(err, ErrDuplicate) {
					t.Errorf("k2 after prune: got %v, want ErrDuplicate", err)
				}
			})
			t.Run("booth events counted with their records", func(t *testing.T) {
				s := open(t)
				a := newAppt(t, s)
				// Two booth events applied, one switchboard event, one booth event refused.
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, dev, 0, "c1"), ev(appointment.Arrive, dev, 1, "c2")); err != nil {
					t.Fatal(err)
				}
				admit := ev(appointment.Admit, doc, 2, "")
				admit.CallID = "call-1"
				if _, _, err := s.Apply(a.ID, admit); err != nil {
					t.Fatal(err)
				}
				got, recs, err := s.Apply(a.ID, ev(appointment.Arrive, dev, 3, "c3"))
				if !errors.Is(err, appointment.ErrIllegal) || len(recs) != 1 {
					t.Fatalf("arrive in a call: got %+v, %v, want one refused record", recs, err)
				}
				if got.BoothEvents != 3 || got.RefusedEvents != 1 {
					t.Errorf("returned counts: got %d booth, %d refused, want 3 and 1", got.BoothEvents, got.RefusedEvents)
				}
				stored, _ := s.Appointment(a.ID)
				if stored.BoothEvents != 3 || stored.RefusedEvents != 1 || stored.Status != appointment.InCall {
					t.Errorf("stored: got %d booth, %d refused, %s, want 3, 1, in_call", stored.BoothEvents, stored.RefusedEvents, stored.Status)
				}
				// A refused chain counts nothing.
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, dev, 4, "c4"), ev(appointment.Leave, dev, 4, "c5")); !errors.Is(err, appointment.ErrIllegal) {
					t.Fatalf("chain: got %v, want ErrIllegal", err)
				}
				if again, _ := s.Appointment(a.ID); again.BoothEvents != 3 {
					t.Errorf("after a refused chain: got %d booth events, want 3", again.BoothEvents)
				}
				h, _ := s.History(a.ID)
				if len(h) != 4 || h[2].CallID != "call-1" {
					t.Errorf("history: got %+v, want 4 records and the admit's call ID", h)
				}
			})
			t.Run("history in pages", func(t *testing.T) {
				s := open(t)
				a := newAppt(t, s)
				if _, _, err := s.Apply(a.ID, ev(appointment.OpenWindow, dev, 0, "")); err != nil {
					t.Fatal(err)
				}
				for i := range 6 {
					e := appointment.Arrive
					if i%2 == 1 {
						e = appointment.Leave
					}
					if _, _, err := s.Apply(a.ID, ev(e, dev, i+1, fmt.Sprintf("p%d", i))); err != nil {
						t.Fatal(err)
					}
				}
				all, _ := s.History(a.ID)
				for _, c := range []struct{ offset, limit, want int }{{0, 3, 3}, {3, 3, 3}, {6, 3, 1}, {7, 3, 0}, {100, 3, 0}, {2, 0, 0}} {
					page, total, err := s.HistoryPage(a.ID, c.offset, c.limit)
					if err != nil || total != 7 || len(page) != c.want {
						t.Errorf("offset %d limit %d: got %d records of %d, %v, want %d of 7", c.offset, c.limit, len(page), total, err, c.want)
						continue
					}
					for i, r := range page {
						if r != all[c.offset+i] {
							t.Errorf("offset %d: record %d is %+v, want %+v", c.offset, i, r, all[c.offset+i])
						}
					}
				}
				if _, _, err := s.HistoryPage("nope", 0, 10); !errors.Is(err, ErrNotFound) {
					t.Errorf("unknown appointment: got %v, want ErrNotFound", err)
				}
			})
			t.Run("push queue", func(t *testing.T) {
				s := open(t)
				d := Device{Name: "b", ClinicID: "c1", Role: device.RoleBooth}
				if err := s.CreateDevice(&d); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.SetDeviceSettings(d.ID, DeviceSettings{JoinMode: "sometimes"}, t0); !errors.Is(err, ErrInvalid) {
					t.Fatalf("bad join mode: got %v, want ErrInvalid", err)
				}
				if ps, _ := s.Pushes(d.ID); len(ps) != 0 {
					t.Fatalf("after a refused setting: got %d pushes, want 0", len(ps))
				}
				if _, _, err := s.SetDeviceSettings("nope", DeviceSettings{JoinMode: device.JoinButton}, t0); !errors.Is(err, ErrNotFound) {
					t.Errorf("unknown device: got %v, want ErrNotFound", err)
				}
				var seqs []uint64
				for _, m := range []device.JoinMode{device.JoinButton, device.JoinAuto, device.JoinButton} {
					got, p, err := s.SetDeviceSettings(d.ID, DeviceSettings{JoinMode: m}, t0)
					if err != nil || got.JoinMode != m || p.Type != PushSettings {
						t.Fatalf("set %s: got %+v, %+v, %v", m, got, p, err)
					}
					seqs = append(seqs, p.Seq)
				}
				if dd, _ := s.Device(d.ID); dd.JoinMode != device.JoinButton {
					t.Errorf("stored join mode: got %q, want button", dd.JoinMode)
				}
				ps, err := s.Pushes(d.ID)
				if err != nil || len(ps) != 3 || ps[0].Seq != seqs[0] || ps[2].Seq != seqs[2] || !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) {
					t.Fatalf("pushes: got %+v, %v, want 3 in rising order", ps, err)
				}
				var set DeviceSettings
				if err := json.Unmarshal(ps[1].Body, &set); err != nil || set.JoinMode != device.JoinAuto {
					t.Errorf("push body: got %s, want join_mode auto", ps[1].Body)
				}
				if err := s.AckPushes(d.ID, seqs[1]); err != nil {
					t.Fatal(err)
				}
				if ps, _ := s.Pushes(d.ID); len(ps) != 1 || ps[0].Seq != seqs[2] {
					t.Errorf("after ack: got %+v, want only the last push", ps)
				}
			})
		})
	}
}

// A version 1 file (before imports and the life cycle) is migrated forward and keeps its
// data.
func TestBoltMigratesVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := Appointment{ID: "a1", ClinicID: "c1", DeviceID: "d1", Patient: "P", Start: time.Unix(1000, 0).UTC(), End: time.Unix(2000, 0).UTC(), Status: appointment.Waiting}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := migrations[0](tx); err != nil {
			return err
		}
		if err := putAppointmentIndex(tx, &a); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bktAppointments), a.ID, &a); err != nil {
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
	if v, err := s.SchemaVersion(); err != nil || v != SchemaVersion || SchemaVersion != 5 {
		t.Errorf("schema version: got %d, %v, want %d", v, err, SchemaVersion)
	}
	got, _, err := s.Apply("a1", EventInput{Event: appointment.Admit, Actor: appointment.Actor{Kind: appointment.ActorClinician}, At: time.Unix(1500, 0)})
	if err != nil || got.Status != appointment.InCall || got.Patient != "P" {
		t.Errorf("apply after migration: got %+v, %v, want in_call with the old data", got, err)
	}
}

// A version 3 file gets its appointments' booth-event counts from the history it holds.
func TestBoltMigratesVersion3Counts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 0).UTC()
	a := Appointment{ClinicID: "c1", DeviceID: "d1", Patient: "P", Start: t0, End: t0.Add(time.Hour), Status: appointment.Scheduled}
	if err := s.CreateAppointment(&a); err != nil {
		t.Fatal(err)
	}
	dev := appointment.Actor{Kind: appointment.ActorDevice, ID: "d1"}
	s.Apply(a.ID, EventInput{Key: "k1", Event: appointment.OpenWindow, Actor: dev, At: t0})                                      //nolint:errcheck
	s.Apply(a.ID, EventInput{Key: "k2", Event: appointment.Leave, Actor: dev, At: t0})                                           //nolint:errcheck // refused
	s.Apply(a.ID, EventInput{Event: appointment.MarkNoShow, Actor: appointment.Actor{Kind: appointment.ActorClinician}, At: t0}) //nolint:errcheck
	// Make it a version 3 file again: no counts, the old version number.
	err = s.db.Update(func(tx *bolt.Tx) error {
		var old Appointment
		if err := getJSON(tx.Bucket(bktAppointments), a.ID, &old, "appointment"); err != nil {
			return err
		}
		old.BoothEvents, old.RefusedEvents = 0, 0
		if err := putJSON(tx.Bucket(bktAppointments), a.ID, &old); err != nil {
			return err
		}
		return tx.Bucket(bktMeta).Put(keySchemaVersion, []byte("3"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Appointment(a.ID)
	if err != nil || got.BoothEvents != 2 || got.RefusedEvents != 1 || got.Status != appointment.NoShow {
		t.Errorf("after migration: got %d booth, %d refused, %s, %v, want 2, 1, no_show", got.BoothEvents, got.RefusedEvents, got.Status, err)
	}
}

// A file that grew (a large push queue, since acknowledged) shrinks at the next open,
// keeping its data and its sequences.
func TestBoltCompactsAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	d := Device{ID: "d1", Name: "b", ClinicID: "c1", Role: device.RoleBooth}
	if err := s.CreateDevice(&d); err != nil {
		t.Fatal(err)
	}
	// 2 MiB of pushes in a few transactions, then acknowledged: free pages, a big file.
	var last uint64
	for i := 0; i < 64; i++ {
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bktPushes)
			for j := 0; j < 32; j++ {
				seq, _ := b.NextSequence()
				last = seq
				p := Push{Seq: seq, DeviceID: "d1", Type: "filler", Body: json.RawMessage(fmt.Sprintf(`"%01000d"`, seq))}
				if err := putJSON(b, string(seqKey("d1", seq)), &p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AckPushes("d1", last); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.Stat(path)

	// Below the threshold nothing happens.
	s, err = OpenBoltWith(path, BoltOptions{CompactFree: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if s.Compaction().Done {
		t.Error("compacted with a 1 GiB threshold, want left alone")
	}
	s.Close()

	s, err = OpenBoltWith(path, BoltOptions{CompactFree: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.Compaction()
	after, _ := os.Stat(path)
	if !c.Done || after.Size() >= before.Size()/2 {
		t.Fatalf("got %+v, size %d -> %d, want compacted to under half", c, before.Size(), after.Size())
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("the temporary copy is still there: %v", err)
	}
	if got, err := s.Device("d1"); err != nil || got.Name != "b" {
		t.Errorf("device after compaction: got %+v, %v", got, err)
	}
	_, p, err := s.SetDeviceSettings("d1", DeviceSettings{JoinMode: device.JoinButton}, time.Now())
	if err != nil || p.Seq != last+1 {
		t.Errorf("next push seq after compaction: got %d, %v, want %d (sequences survive)", p.Seq, err, last+1)
	}
	t.Logf("compaction: %d -> %d bytes (%d free)", c.SizeBefore, c.SizeAfter, c.FreeBytes)
}
