package store

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
)

func TestHistories(t *testing.T) {
	impls := map[string]interface {
		Store
		Histories(ids []string) (map[string][]appointment.Record, error)
	}{"memory": NewMemory()}
	b, err := OpenBolt(filepath.Join(t.TempDir(), "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	impls["bolt"] = b
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for name, s := range impls {
		t.Run(name, func(t *testing.T) {
			var ids []string
			for i := range 3 {
				a := Appointment{ClinicID: "c", DeviceID: "d", Patient: "P", Start: t0, End: t0.Add(time.Hour), Status: appointment.Scheduled}
				if err := s.CreateAppointment(&a); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, a.ID)
				for j := range i {
					ev := []appointment.Event{appointment.OpenWindow, appointment.Arrive}[j]
					who := appointment.Actor{Kind: appointment.ActorDevice, ID: "d"}
					if _, _, err := s.Apply(a.ID, EventInput{Event: ev, Actor: who, At: t0, Received: t0}); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := s.Histories(append(ids, "unknown"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[ids[0]] != nil {
				t.Errorf("got histories for %d appointments, want 2 (the first has none)", len(got))
			}
			for _, id := range ids[1:] {
				one, _ := s.History(id)
				if !reflect.DeepEqual(got[id], one) {
					t.Errorf("%s: Histories gives %+v, History %+v", id, got[id], one)
				}
			}
		})
	}
}
