package booth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
)

// ErrNotFound is returned by Store.Get for an unknown appointment.
var ErrNotFound = errors.New("appointment not found")

// Appointment is an appointment as the booth keeps it: the switchboard's view plus what
// this booth has done with it.
type Appointment struct {
	signalling.Appointment
	// Done is set once a call for the appointment has ended; the booth does not join it
	// again.
	Done bool `json:"done,omitempty"`
	// Local is the booth's own view of the life-cycle status: what its recorded events
	// have led to. It follows the switchboard's Status whenever the booth has no
	// undelivered events for the appointment.
	Local appointment.Status `json:"local,omitempty"`
	// EndPress is what the patient's End outside a call decided about the appointment:
	// the booth does not join it by itself (Join still joins). Kept across power cuts, so
	// a restart never puts the next person in front of the last patient's clinician.
	EndPress EndPress `json:"end_press,omitempty"`
}

// EndPress is a decision the patient made with End outside a call.
type EndPress string

// End presses. The string values are stored in booth.db; never change them.
const (
	// NoEndPress: none in force (never pressed, or Join pressed since).
	NoEndPress EndPress = ""
	// EndLeft: End pressed in the waiting room; the patient left it.
	EndLeft EndPress = "left"
	// EndHeld: End held in the join window; the automatic join is cancelled.
	EndHeld EndPress = "held"
)

// OutboxEvent is one appointment event the booth recorded, waiting for the switchboard
// to acknowledge it.
type OutboxEvent struct {
	Seq           uint64            `json:"seq"` // outbox order, from bbolt's NextSequence
	Key           string            `json:"key"` // idempotency key: store ID and Seq
	AppointmentID string            `json:"appointment_id"`
	Event         appointment.Event `json:"event"`
	At            time.Time         `json:"at"`
}

// Settings are the device settings the switchboard pushed, with the seq of the last push
// applied.
type Settings struct {
	Seq      uint64          `json:"seq"`
	JoinMode device.JoinMode `json:"join_mode,omitempty"`
}

// Store is the booth's local copy of its schedule and its outbox, so a booth that
// restarts while the switchboard is unreachable still knows its appointments and loses
// none of its events.
type Store interface {
	// ReplaceSchedule replaces every appointment with appts (the switchboard's schedule
	// message). Done marks of appointments still in the schedule are kept, and so is the
	// Local status of those with undelivered events.
	ReplaceSchedule(appts []signalling.Appointment) error
	// Upcoming returns the appointments that have not ended at now, by start time.
	Upcoming(now time.Time) ([]Appointment, error)
	// Get returns one appointment or ErrNotFound.
	Get(id string) (Appointment, error)
	// MarkDone records that the appointment's call has ended.
	MarkDone(id string) error

	// Record appends an event by this device to the outbox and moves the appointment's
	// Local status, in one transaction; an event the life cycle does not allow from
	// Local is refused (appointment.ErrIllegal) and nothing is written.
	Record(id string, ev appointment.Event, at time.Time) (OutboxEvent, error)
	// Decide keeps an End press (or NoEndPress, once Join undoes it) with the appointment
	// and, when ev is not empty, records ev as Record does, in one transaction: a power
	// cut keeps both or neither. It reports whether ev was recorded: one the life cycle
	// does not allow from Local is not, and the End press is kept all the same.
	Decide(id string, end EndPress, ev appointment.Event, at time.Time) (OutboxEvent, bool, error)
	// Outbox returns up to limit undelivered events with a Seq above after, oldest first
	// (limit <= 0: all of them).
	Outbox(after uint64, limit int) ([]OutboxEvent, error)
	// Ack removes delivered events by key and, once nothing is left to deliver, sets the
	// Local status of their appointments to the switchboard's (status by appointment ID;
	// "" leaves it). Keys that are not this store's are ignored.
	Ack(status map[string]appointment.Status, keys ...string) error

	// Settings returns the settings last pushed by the switchboard.
	Settings() (Settings, error)
	// SaveSettings stores pushed settings.
	SaveSettings(s Settings) error

	// KeepQuality keeps a call's figures until the switchboard acknowledges them, at most
	// MaxKeptQuality (the oldest go first); figures of a call kept already replace them.
	KeepQuality(q signalling.Quality) error
	// KeptQuality returns the figures not yet acknowledged, oldest first.
	KeptQuality() ([]signalling.Quality, error)
	// ForgetQuality drops a call's figures; an unknown call is not an error.
	ForgetQuality(callID string) error
}

// MaxKeptQuality bounds the call figures a booth keeps for the switchboard: a week of
// calls on a busy booth, after which the oldest are the least missed.
const MaxKeptQuality = 64

func sortAppointments(a []Appointment) {
	sort.Slice(a, func(i, j int) bool {
		if !a[i].Start.Equal(a[j].Start) {
			return a[i].Start.Before(a[j].Start)
		}
		return a[i].ID < a[j].ID
	})
}

// serverStatus maps a schedule's status to the life cycle, treating unknown ones (an
// older switchboard's "booked") as scheduled.
func serverStatus(s appointment.Status) appointment.Status {
	if s.Valid() {
		return s
	}
	return appointment.Scheduled
}

// newStoreID returns a random ID for a store's idempotency keys, so a booth whose state
// was wiped (and whose sequence starts again at 1) never reuses a key the switchboard has
// applied.
func newStoreID() string {
	var b [9]byte
	rand.Read(b[:]) // never fails: since Go 1.24 it crashes the program rather than return an error
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func eventKey(storeID string, seq uint64) string { return storeID + "-" + strconv.FormatUint(seq, 10) }

// seqOfKey returns the sequence of one of this store's keys.
func seqOfKey(storeID, key string) (uint64, bool) {
	rest, ok := strings.CutPrefix(key, storeID+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

// merge is the stored appointment after a schedule brings a: Done and EndPress kept, Local
// following the switchboard unless the booth has undelivered events for it.
func merge(old Appointment, a signalling.Appointment, pending bool) Appointment {
	n := Appointment{Appointment: a, Done: old.Done, EndPress: old.EndPress, Local: serverStatus(a.Status)}
	if pending && old.Local != "" {
		n.Local = old.Local
	}
	return n
}

func localOf(a Appointment) appointment.Status {
	if a.Local != "" {
		return a.Local
	}
	return serverStatus(a.Status)
}
