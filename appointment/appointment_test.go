package appointment

import (
	"errors"
	"fmt"
	"testing"
)

// legal is the life cycle written out once more, independently of the package's table:
// every (from, event, actor) that is allowed and where it leads. Every other combination
// must be refused.
var legal = []struct {
	from  Status
	ev    Event
	actor ActorKind
	to    Status
}{
	{Scheduled, OpenWindow, ActorDevice, WindowOpen},
	{Scheduled, OpenWindow, ActorSystem, WindowOpen},
	{WindowOpen, Arrive, ActorDevice, Waiting},
	{Waiting, Leave, ActorDevice, WindowOpen},
	{Scheduled, Leave, ActorDevice, WindowOpen}, // an End pressed offline, replayed after the device_lost reset
	{Waiting, Admit, ActorClinician, InCall},
	{Waiting, Admit, ActorDevice, InCall}, // the clinic-room appliance's Next button
	{InCall, End, ActorClinician, Ended},
	{InCall, End, ActorDevice, Ended},
	{InCall, ClinicianLost, ActorSystem, Waiting},
	{InCall, CallFailed, ActorClinician, Waiting},
	{InCall, CallFailed, ActorDevice, Waiting},
	{Waiting, DeviceLost, ActorSystem, Scheduled},
	{InCall, DeviceLost, ActorSystem, Scheduled},
	{Scheduled, MarkNoShow, ActorClinician, NoShow},
	{WindowOpen, MarkNoShow, ActorClinician, NoShow},
	{Scheduled, MoveTelephone, ActorClinician, Telephone},
	{WindowOpen, MoveTelephone, ActorClinician, Telephone},
	{Waiting, MoveTelephone, ActorClinician, Telephone},
	{InCall, MoveTelephone, ActorClinician, Telephone},
	{Scheduled, Cancel, ActorClinician, Cancelled},
	{WindowOpen, Cancel, ActorClinician, Cancelled},
	{Waiting, Cancel, ActorClinician, Cancelled},
}

func TestEveryTransition(t *testing.T) {
	want := map[string]Status{}
	for _, l := range legal {
		want[fmt.Sprint(l.from, "/", l.ev, "/", l.actor)] = l.to
	}
	seen := 0
	for _, from := range Statuses {
		for _, ev := range Events {
			for _, actor := range ActorKinds {
				name := fmt.Sprint(from, "/", ev, "/", actor)
				t.Run(name, func(t *testing.T) {
					got, err := Next(from, ev, actor)
					to, ok := want[name]
					if ok {
						seen++
						if err != nil || got != to {
							t.Fatalf("got %s, %v, want %s", got, err, to)
						}
						return
					}
					var ie *IllegalError
					if !errors.As(err, &ie) || !errors.Is(err, ErrIllegal) {
						t.Fatalf("got %s, %v, want an IllegalError", got, err)
					}
					if got != from {
						t.Errorf("refused transition: got status %s, want it unchanged (%s)", got, from)
					}
					if ie.From != from || ie.Event != ev || ie.Reason == "" {
						t.Errorf("error %+v does not name the status, event and reason", ie)
					}
				})
			}
		}
	}
	if seen != len(legal) {
		t.Errorf("got %d legal transitions exercised, want %d (a row names an unknown status, event or actor)", seen, len(legal))
	}
}

func TestFinalStatusesHaveNoWayOut(t *testing.T) {
	for _, s := range Statuses {
		for _, ev := range Events {
			for _, a := range ActorKinds {
				if _, err := Next(s, ev, a); err == nil && s.Final() {
					t.Errorf("%s -%s(%s)-> allowed, want a final status to refuse everything", s, ev, a)
				}
			}
		}
	}
}

func TestValid(t *testing.T) {
	for _, s := range Statuses {
		if !s.Valid() {
			t.Errorf("%q.Valid(): got false, want true", s)
		}
	}
	for _, ev := range Events {
		if !ev.Valid() {
			t.Errorf("%q.Valid(): got false, want true", ev)
		}
	}
	for _, bad := range []string{"", "booked", "Arrive", "teleport"} {
		if Status(bad).Valid() {
			t.Errorf("Status(%q).Valid(): got true, want false", bad)
		}
		if Event(bad).Valid() {
			t.Errorf("Event(%q).Valid(): got true, want false", bad)
		}
	}
}

func TestUnknownValuesAreRefused(t *testing.T) {
	tests := []struct {
		name  string
		from  Status
		ev    Event
		actor ActorKind
		want  string
	}{
		{"unknown event", Scheduled, "teleport", ActorClinician, `"teleport" is not an appointment event`},
		{"unknown status", "booked", Cancel, ActorClinician, `"booked" is not an appointment status`},
		{"no actor", Scheduled, Cancel, "", "a nobody may not cause cancel"},
		{"wrong actor", Scheduled, Cancel, ActorDevice, "a device may not cause cancel"},
		{"wrong status", Ended, Admit, ActorClinician, "not allowed when the appointment is ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Next(tt.from, tt.ev, tt.actor)
			var ie *IllegalError
			if !errors.As(err, &ie) || ie.Reason != tt.want {
				t.Fatalf("got %v, want reason %q", err, tt.want)
			}
		})
	}
}

func ExampleNext() {
	s := Scheduled
	for _, step := range []struct {
		ev    Event
		actor ActorKind
	}{{OpenWindow, ActorDevice}, {Arrive, ActorDevice}, {Admit, ActorClinician}, {End, ActorClinician}, {Arrive, ActorDevice}} {
		next, err := Next(s, step.ev, step.actor)
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		fmt.Println(s, "->", next)
		s = next
	}
	// Output:
	// scheduled -> window_open
	// window_open -> waiting
	// waiting -> in_call
	// in_call -> ended
	// refused: arrive ended: not allowed when the appointment is ended
}
