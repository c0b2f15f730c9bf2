package booth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
)

// TestStoreContract runs the same behaviour against every Store implementation.
func TestStoreContract(t *testing.T) {
	impls := storeImpls()
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	appt := func(id string, startMin int) signalling.Appointment {
		return signalling.Appointment{ID: id, ClinicID: "c1", DeviceID: "d1", Patient: "P",
			Start: t0.Add(time.Duration(startMin) * time.Minute), End: t0.Add(time.Duration(startMin+15) * time.Minute), Status: "booked"}
	}
	for name, open := range impls {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if got, err := s.Upcoming(t0); err != nil || len(got) != 0 {
				t.Fatalf("empty store: got %v, %v, want nothing", got, err)
			}
			if err := s.ReplaceSchedule([]signalling.Appointment{appt("b", 30), appt("a", 0), appt("old", -60)}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Upcoming(t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
				t.Fatalf("upcoming: got %v, want a then b", got)
			}
			if !got[0].Start.Equal(t0) {
				t.Errorf("start: got %v, want %v", got[0].Start, t0)
			}
			if err := s.MarkDone("a"); err != nil {
				t.Fatal(err)
			}
			if a, err := s.Get("a"); err != nil || !a.Done {
				t.Errorf("get a after MarkDone: got %+v, %v, want done", a, err)
			}
			if _, err := s.Get("nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("get unknown: got %v, want ErrNotFound", err)
			}
			if err := s.MarkDone("nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("mark unknown: got %v, want ErrNotFound", err)
			}
			// Replacing keeps done marks of appointments still present and drops the rest.
			if err := s.ReplaceSchedule([]signalling.Appointment{appt("a", 0), appt("c", 60)}); err != nil {
				t.Fatal(err)
			}
			got, _ = s.Upcoming(t0)
			if len(got) != 2 || got[0].ID != "a" || !got[0].Done || got[1].ID != "c" || got[1].Done {
				t.Errorf("after replace: got %+v, want a (done) and c", got)
			}
			if _, err := s.Get("b"); !errors.Is(err, ErrNotFound) {
				t.Errorf("get removed b: got %v, want ErrNotFound", err)
			}
		})
	}
}

func TestBoltStoreReopens(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := signalling.Appointment{ID: "a", Start: time.Unix(1000, 0).UTC(), End: time.Unix(2000, 0).UTC()}
	if err := s.ReplaceSchedule([]signalling.Appointment{a}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Get("a"); err != nil || !got.End.Equal(a.End) {
		t.Errorf("got %+v, %v, want %+v", got, err, a)
	}
}

// TestStoreQualityContract: call figures are kept until forgotten, oldest first, once a
// call, and no more than MaxKeptQuality of them; every Store does the same.
func TestStoreQualityContract(t *testing.T) {
	for name, open := range storeImpls() {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if got, err := s.KeptQuality(); err != nil || len(got) != 0 {
				t.Fatalf("empty store: got %v, %v", got, err)
			}
			q := func(call string, kbps float64) signalling.Quality {
				return signalling.Quality{AppointmentID: "a1", CallID: call, BitrateKbps: kbps, Seconds: 60}
			}
			for _, k := range []signalling.Quality{q("c1", 100), q("c2", 200), q("c1", 150)} {
				if err := s.KeepQuality(k); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.KeptQuality()
			if err != nil || len(got) != 2 || got[0].CallID != "c2" || got[1] != q("c1", 150) {
				t.Fatalf("kept: got %+v, %v; want c2 then c1 (the later figures)", got, err)
			}
			if err := s.ForgetQuality("c2"); err != nil {
				t.Fatal(err)
			}
			if err := s.ForgetQuality("unknown"); err != nil {
				t.Errorf("forget an unknown call: %v", err)
			}
			if got, _ := s.KeptQuality(); len(got) != 1 || got[0].CallID != "c1" {
				t.Errorf("after forgetting c2: got %+v, want c1", got)
			}
			for i := range MaxKeptQuality + 5 {
				s.KeepQuality(q(fmt.Sprintf("x%d", i), 1))
			}
			got, _ = s.KeptQuality()
			if len(got) != MaxKeptQuality || got[len(got)-1].CallID != fmt.Sprintf("x%d", MaxKeptQuality+4) {
				t.Errorf("after %d more: kept %d (last %q), want the newest %d", MaxKeptQuality+5, len(got), got[len(got)-1].CallID, MaxKeptQuality)
			}
		})
	}
}
