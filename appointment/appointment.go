package appointment

import (
	"errors"
	"fmt"
	"time"
)

// Status is where an appointment is in its life cycle.
type Status string

// Statuses. The string values are stored and sent on the wire; never change them.
const (
	Scheduled  Status = "scheduled"   // booked; its join window has not opened (or the booth left it)
	WindowOpen Status = "window_open" // the booth's join window is open: the Join light is lit
	Waiting    Status = "waiting"     // the patient is in the clinician's waiting room
	InCall     Status = "in_call"     // the consultation is under way
	Ended      Status = "ended"       // a person ended the call
	NoShow     Status = "no_show"     // the clinician recorded that the patient did not come
	Telephone  Status = "telephone"   // the clinician moved the consultation to a phone call
	Cancelled  Status = "cancelled"   // cancelled before it took place
)

// Statuses lists every status, in life-cycle order.
var Statuses = []Status{Scheduled, WindowOpen, Waiting, InCall, Ended, NoShow, Telephone, Cancelled}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether nothing can follow s.
func (s Status) Final() bool {
	switch s {
	case Ended, NoShow, Telephone, Cancelled:
		return true
	}
	return false
}

// Event is something that happens to an appointment.
type Event string

// Events. The string values are stored and sent on the wire; never change them.
const (
	OpenWindow    Event = "window_open"    // the join window opened (device, system)
	Arrive        Event = "arrive"         // the patient joined the waiting room (device)
	Leave         Event = "leave"          // the patient left the waiting room (device)
	Admit         Event = "admit"          // the clinician or clinic appliance started the call
	End           Event = "end"            // a person ended the call (clinician or device)
	ClinicianLost Event = "clinician_lost" // the clinician's connection dropped mid-call (system)
	CallFailed    Event = "call_failed"    // the media failed while both stayed connected (the party that saw it)
	DeviceLost    Event = "device_lost"    // the booth's connection dropped (system)
	MarkNoShow    Event = "no_show"        // the clinician recorded a no-show
	MoveTelephone Event = "telephone"      // the clinician moved to a phone call
	Cancel        Event = "cancel"         // the appointment was cancelled (clinician)
)

// Events lists every event.
var Events = []Event{OpenWindow, Arrive, Leave, Admit, End, ClinicianLost, CallFailed, DeviceLost, MarkNoShow, MoveTelephone, Cancel}

// Valid reports whether e is a known event.
func (e Event) Valid() bool {
	_, ok := table[e]
	return ok
}

// ActorKind says what kind of party caused an event.
type ActorKind string

// Actor kinds.
const (
	ActorDevice    ActorKind = "device"
	ActorClinician ActorKind = "clinician"
	ActorSystem    ActorKind = "system"
)

// ActorKinds lists every actor kind.
var ActorKinds = []ActorKind{ActorDevice, ActorClinician, ActorSystem}

// Actor is who caused an event: a device or clinician ID, or the system.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id,omitempty"`
}

// System is the actor for what the switchboard or the clock does by itself.
var System = Actor{Kind: ActorSystem}

// rule is one row of the transition table.
type rule struct {
	from   []Status
	to     Status
	actors []ActorKind
}

// table is the whole life cycle. Anything not here is illegal.
var table = map[Event]rule{
	OpenWindow: {[]Status{Scheduled}, WindowOpen, []ActorKind{ActorDevice, ActorSystem}},
	Arrive:     {[]Status{WindowOpen}, Waiting, []ActorKind{ActorDevice}},
	// From scheduled: the booth's link dropped while the patient waited (device_lost) and
	// they pressed End before it was back. The End the booth kept still ends their
	// attendance when it is replayed, and leads where an online one does.
	Leave:         {[]Status{Waiting, Scheduled}, WindowOpen, []ActorKind{ActorDevice}},
	Admit:         {[]Status{Waiting}, InCall, []ActorKind{ActorClinician, ActorDevice}},
	End:           {[]Status{InCall}, Ended, []ActorKind{ActorClinician, ActorDevice}},
	ClinicianLost: {[]Status{InCall}, Waiting, []ActorKind{ActorSystem}},
	// A call whose media failed (a firewall, a browser reload racing its own hangup) is not
	// a consultation that happened: the patient waits again, and the clinician admits them
	// again or moves to the telephone.
	CallFailed:    {[]Status{InCall}, Waiting, []ActorKind{ActorClinician, ActorDevice}},
	DeviceLost:    {[]Status{Waiting, InCall}, Scheduled, []ActorKind{ActorSystem}},
	MarkNoShow:    {[]Status{Scheduled, WindowOpen}, NoShow, []ActorKind{ActorClinician}},
	MoveTelephone: {[]Status{Scheduled, WindowOpen, Waiting, InCall}, Telephone, []ActorKind{ActorClinician}},
	Cancel:        {[]Status{Scheduled, WindowOpen, Waiting}, Cancelled, []ActorKind{ActorClinician}},
}

// ErrIllegal matches every *IllegalError with errors.Is.
var ErrIllegal = errors.New("illegal appointment transition")

// IllegalError is a refused transition.
type IllegalError struct {
	From   Status
	Event  Event
	Actor  ActorKind
	Reason string
}

func (e *IllegalError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Event, e.From, e.Reason)
}

// Is makes errors.Is(err, ErrIllegal) true.
func (e *IllegalError) Is(target error) bool { return target == ErrIllegal }

// Next returns the status that ev, caused by an actor of kind actor, leads to from from,
// or an *IllegalError saying why it may not happen.
func Next(from Status, ev Event, actor ActorKind) (Status, error) {
	if !ev.Valid() {
		return from, &IllegalError{From: from, Event: ev, Actor: actor, Reason: fmt.Sprintf("%q is not an appointment event", ev)}
	}
	r := table[ev]
	if !from.Valid() {
		return from, &IllegalError{From: from, Event: ev, Actor: actor, Reason: fmt.Sprintf("%q is not an appointment status", from)}
	}
	allowed := false
	for _, a := range r.actors {
		allowed = allowed || a == actor
	}
	if !allowed {
		return from, &IllegalError{From: from, Event: ev, Actor: actor, Reason: fmt.Sprintf("a %s may not cause %s", actorName(actor), ev)}
	}
	for _, s := range r.from {
		if s == from {
			return r.to, nil
		}
	}
	return from, &IllegalError{From: from, Event: ev, Actor: actor, Reason: fmt.Sprintf("not allowed when the appointment is %s", from)}
}

func actorName(k ActorKind) string {
	if k == "" {
		return "nobody"
	}
	return string(k)
}

// Record is one transition as it is kept in an appointment's history.
type Record struct {
	// Key is the idempotency key of an event a booth recorded (empty for events the
	// switchboard made itself). A key is applied at most once.
	Key           string `json:"key,omitempty"`
	AppointmentID string `json:"appointment_id"`
	Event         Event  `json:"event"`
	From          Status `json:"from"`
	To            Status `json:"to"`
	Actor         Actor  `json:"actor"`
	// At is when it happened, by the actor's clock (a booth's, for events it recorded
	// offline); Received is when the switchboard learnt of it.
	At       time.Time `json:"at"`
	Received time.Time `json:"received,omitzero"`
	// Refused is set for a replayed booth event that was no longer legal when it arrived
	// (say, the clinician had marked a no-show meanwhile). It is kept, so the history shows
	// everything the booth did, and it changed nothing (To equals From).
	Refused string `json:"refused,omitempty"`
	// CallID is the call an admit started.
	CallID string `json:"call_id,omitempty"`
}
