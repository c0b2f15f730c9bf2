package screen

import (
	"fmt"
	"time"
)

// Kind is which screen is shown.
type Kind int

// The screens.
const (
	Idle          Kind = iota // the time and the next appointment
	JoinWindow                // an appointment can be joined now
	Waiting                   // in the waiting room
	InCall                    // the clinician's video
	Reconnecting              // the switchboard link or the call's media is down
	Fault                     // something is broken; what to do
	HelpRequested             // the Help button was pressed
	// WaitingRoom is the clinic-room appliance's screen: who is waiting, and that the
	// green button sees the first.
	WaitingRoom
	// Activation is shown while the device is not yet enrolled: the activation code IT
	// approves, and the switchboard's fingerprint to compare.
	Activation
	// Revoked is shown once IT has switched the device off (revoked it on the
	// switchboard): nothing on it works until it is enrolled again.
	Revoked
)

var kindNames = [...]string{"idle", "join-window", "waiting", "in-call", "reconnecting", "fault", "help", "waiting-room", "activation", "revoked"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Problems a Fault screen can name, in plain words. View.Problem may hold any other sentence.
const (
	ProblemCamera     = "The camera is not working."
	ProblemMicrophone = "The microphone is not working."
	ProblemSpeaker    = "The speaker is not working."
	ProblemNetwork    = "The booth cannot connect to the internet."
	// RevokedMessage is what the Revoked screen says.
	RevokedMessage = "This device has been switched off by IT."
)

// View is everything the screen shows apart from video. The zero value is the idle screen
// with no appointment.
type View struct {
	Kind Kind
	// Now is the time the screen is drawn for. Display sets it from its clock.
	Now time.Time
	// Location is the booth's time zone for the times shown; UTC if nil.
	Location *time.Location

	ClinicName  string    // "Riverside Surgery"
	ClinicPhone string    // shown on the Fault screen, if set
	Appointment time.Time // the next (or current) appointment's start; zero if none
	// AutoJoin is the join mode: true joins automatically at the start time, false waits for
	// the green Join button.
	AutoJoin bool
	// WaitingSince is when the booth entered the waiting room (for "You have waited 3
	// minutes"); zero hides the line.
	WaitingSince time.Time
	// TooEarly is set when Join was pressed before the next appointment's window opened;
	// the idle screen then says when it opens (JoinOpens).
	TooEarly  bool
	JoinOpens time.Time
	Muted     bool // the microphone is off (shown in a call)
	// VideoPaused: the clinician's picture has paused while their sound goes on (shown in a
	// call).
	VideoPaused bool
	Problem     string // what is wrong, for Fault (e.g. ProblemCamera); for Activation without a code, what it waits for
	// Queue is the clinic's waiting room, longest waiting first (WaitingRoom).
	Queue []Waiter
	// ActivationCode is the code to approve ("K7QM-4TZP"), empty while the device is
	// still asking for one; Fingerprint the switchboard CA's ("SHA256:..."), of which the
	// screen shows the start for IT to compare (Activation).
	ActivationCode string
	Fingerprint    string
	// HelpComingFrom is the name of the member of staff who said they are coming
	// (HelpRequested); empty while staff have been told but nobody has answered yet.
	HelpComingFrom string
}

// Waiter is a patient in the clinic's waiting room.
type Waiter struct {
	Name   string    // as booked: "Mrs A Patel"
	Since  time.Time // arrived in the waiting room
	InCall bool      // already admitted
}

func (v View) loc() *time.Location {
	if v.Location == nil {
		return time.UTC
	}
	return v.Location
}

// clock formats t as the NHS style guide writes times: "9am", "10:30am", "2:05pm",
// "midday", "midnight".
func clock(t time.Time) string {
	h, m := t.Hour(), t.Minute()
	switch {
	case h == 12 && m == 0:
		return "midday"
	case h == 0 && m == 0:
		return "midnight"
	}
	suffix := "am"
	if h >= 12 {
		suffix = "pm"
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	if m == 0 {
		return fmt.Sprintf("%d%s", h12, suffix)
	}
	return fmt.Sprintf("%d:%02d%s", h12, m, suffix)
}

// day says which day t is, relative to now: "today", "tomorrow", or "Monday 23 November".
func day(now, t time.Time) string {
	y1, m1, d1 := now.Date()
	y2, m2, d2 := t.Date()
	today := time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)
	that := time.Date(y2, m2, d2, 0, 0, 0, 0, time.UTC)
	switch that.Sub(today) / (24 * time.Hour) {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return t.Format("Monday 2 January")
}

// minutes says how long d is in whole minutes, in words.
func minutes(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m < 1:
		return "less than a minute"
	case m == 1:
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}
