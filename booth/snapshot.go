package booth

import (
	"context"
	"fmt"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
)

// What the booth shows the world: its State and Snapshot, published to subscribers
// (the screen, the light, the prompts, tests) whenever they change.

// State is what the booth is doing, as the screen would show it.
type State int

// Booth states. Being offline is not a state but a flag (Snapshot.Offline): a booth can be
// in its join window, or even waiting, while the link is down.
const (
	Idle       State = iota // no appointment's window is open
	JoinWindow              // an appointment can be joined: start-join_window <= now < end
	Waiting                 // arrived in the waiting room
	InCall                  // in a call
)

func (s State) String() string {
	switch s {
	case Idle:
		return "idle"
	case JoinWindow:
		return "join_window"
	case Waiting:
		return "waiting"
	case InCall:
		return "in_call"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Snapshot is the booth's state at one moment, for the screen, metrics and tests.
type Snapshot struct {
	State   State
	Offline bool // the switchboard link is down
	// AppointmentID is the appointment whose window is open, which the booth waits for or
	// whose call is in progress; empty when Idle.
	AppointmentID string
	CallID        string    // the call in progress
	Connected     bool      // the call's media flows
	Muted         bool      // the microphone is muted in the call in progress
	Stats         CallStats // the current (or last) call's stats at the last stats tick
	Calls         int       // calls started since Run
	Ignored       int       // button presses that did nothing (e.g. Join outside any window)
	Connects      int       // link connection attempts

	// NextAppointmentID and NextWindowAt are the next appointment whose join window has
	// not opened yet and when it opens (zero when there is none), so the screen can say
	// "your appointment opens at 10:50".
	NextAppointmentID string
	NextWindowAt      time.Time
	// TooEarly is set when Join was pressed before any window was open, until the next
	// window opens: the screen shows NextWindowAt.
	TooEarly bool
	// Help is set once the switchboard has confirmed that staff were told of a Help press,
	// and cleared when End is pressed outside a call, a call connects, or staff clear it.
	Help bool
	// JoinMode is the mode in force: the config's, or the one the switchboard pushed.
	JoinMode device.JoinMode
	// Outbox is how many recorded events the switchboard has not acknowledged yet.
	Outbox int
	// Role is device.RoleBooth or device.RoleClinic.
	Role device.Role
	// Queue is the clinic's waiting room (device.RoleClinic only; nil until the first one).
	// It is replaced, never changed in place.
	Queue *signalling.Queue
	// AutoJoinCancelled is set while the booth will not join the appointment in its join
	// window by itself: End was held, or the patient left the waiting room. Join still
	// joins.
	AutoJoinCancelled bool
	// ClinicPhone is the phone number of the clinic the device belongs to, as the
	// switchboard last said (empty until it has), for the fault screen.
	ClinicPhone string
}

// Snapshot returns the booth's current state and counters.
func (b *Booth) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snap
}

// Subscribe returns a channel that receives the latest Snapshot whenever it changes (older
// unread snapshots are replaced, so a slow reader sees the newest), and a function that
// ends the subscription.
func (b *Booth) Subscribe() (<-chan Snapshot, func()) {
	ch := make(chan Snapshot, 1)
	b.mu.Lock()
	id := b.nextSub
	b.nextSub++
	b.subs[id] = ch
	ch <- b.snap
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

// WaitFor waits until cond holds for a Snapshot and returns that Snapshot.
func (b *Booth) WaitFor(ctx context.Context, cond func(Snapshot) bool) (Snapshot, error) {
	ch, cancel := b.Subscribe()
	defer cancel()
	for {
		select {
		case s := <-ch:
			if cond(s) {
				return s, nil
			}
		case <-ctx.Done():
			return b.Snapshot(), fmt.Errorf("wait for booth state (last %+v): %w", b.Snapshot(), ctx.Err())
		}
	}
}

// setSnapLocked stores s and hands it to subscribers, replacing what they have not read.
// Must hold b.mu.
func (b *Booth) setSnapLocked(s Snapshot) {
	b.snap = s
	for _, ch := range b.subs {
		select {
		case <-ch:
		default:
		}
		ch <- s
	}
}

// publish copies the loop's state into the snapshot and tells subscribers. Called only by
// the loop.
func (b *Booth) publish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Snapshot{
		State:         b.state,
		Offline:       b.offline,
		Stats:         b.stats,
		Calls:         b.calls,
		Ignored:       b.ignored,
		Connects:      b.connects,
		AppointmentID: b.current,

		NextAppointmentID: b.nextAppt,
		NextWindowAt:      b.nextAt,
		TooEarly:          b.tooEarly,
		Help:              b.help,
		JoinMode:          b.joinMode,
		Outbox:            b.out.pending,
		Role:              b.cfg.Role,
		Queue:             b.queue,
		ClinicPhone:       b.phone,
		AutoJoinCancelled: b.current != "" && b.left[b.current],
	}
	switch {
	case b.call != nil:
		s.AppointmentID, s.CallID, s.Connected = b.call.apptID, b.call.id, b.call.connected == nil
		s.Muted = b.call.muted
	case b.waiting != "":
		s.AppointmentID = b.waiting
	}
	if s == b.snap {
		return
	}
	if s.State != b.snap.State {
		b.metrics.setState(s.State)
	}
	b.metrics.outbox.Set(float64(s.Outbox))
	b.setSnapLocked(s)
}
