package booth

import (
	"context"
	"fmt"
	"sync"
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
	// Revoked is set once the switchboard has said IT revoked this device (Offline is
	// then set too); the screen says so, and the link asks again only every few minutes.
	Revoked bool
	// AppointmentID is the appointment whose window is open, which the booth waits for or
	// whose call is in progress; empty when Idle.
	AppointmentID string
	CallID        string // the call in progress
	Connected     bool   // the call's media flows
	Muted         bool   // the microphone is muted in the call in progress
	// VideoPaused is set while the remote picture has stood still for PausedAfter and its
	// sound goes on (a link too slow for video): the screen says so.
	VideoPaused bool
	Stats       CallStats // the current (or last) call's stats at the last stats tick
	Calls       int       // calls started since Run
	Ignored     int       // button presses that did nothing (e.g. Join outside any window)
	Connects    int       // link connection attempts

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
	// HelpComingFrom is the name of the member of staff who said they are coming (the
	// staff station's "I'm coming"), once the switchboard says so; "" before, and whenever
	// Help is not set.
	HelpComingFrom string
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
	// ClinicID is the clinic (site) the device belongs to, as the switchboard last said.
	ClinicID string
}

// publisher holds the latest Snapshot and hands it to subscribers. Safe from any
// goroutine; the loop publishes, and the link counts its connection attempts.
type publisher struct {
	mu       sync.Mutex // guards the fields below
	snap     Snapshot
	subs     map[int]chan Snapshot
	nextSub  int
	connects int // link connection attempts, which the link goroutine counts
}

func (p *publisher) get() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snap
}

// subscribe returns a channel holding the latest Snapshot and a function that ends the
// subscription.
func (p *publisher) subscribe() (<-chan Snapshot, func()) {
	ch := make(chan Snapshot, 1)
	p.mu.Lock()
	id := p.nextSub
	p.nextSub++
	p.subs[id] = ch
	ch <- p.snap
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.subs, id)
		p.mu.Unlock()
	}
}

// set publishes s (with the connection count) unless it equals the current snapshot.
// before, when s is new, sees the snapshot it replaces and s before any subscriber does,
// so what it updates (metrics) is never behind what a subscriber was shown.
func (p *publisher) set(s Snapshot, before func(prev, s Snapshot)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.Connects = p.connects
	if s == p.snap {
		return
	}
	before(p.snap, s)
	p.setLocked(s)
}

// countConnect counts a link connection attempt and publishes it.
func (p *publisher) countConnect() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.connects++
	s := p.snap
	s.Connects = p.connects
	p.setLocked(s)
}

// setLocked stores s and hands it to subscribers, replacing what they have not read.
// Must hold p.mu.
func (p *publisher) setLocked(s Snapshot) {
	p.snap = s
	for _, ch := range p.subs {
		select {
		case <-ch:
		default:
		}
		ch <- s
	}
}

// Snapshot returns the booth's current state and counters.
func (b *Booth) Snapshot() Snapshot { return b.pub.get() }

// Subscribe returns a channel that receives the latest Snapshot whenever it changes (older
// unread snapshots are replaced, so a slow reader sees the newest), and a function that
// ends the subscription.
func (b *Booth) Subscribe() (<-chan Snapshot, func()) { return b.pub.subscribe() }

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

// publish copies the loop's state into the snapshot and tells subscribers. Called only by
// the loop.
func (b *Booth) publish() {
	s := Snapshot{
		State:         b.sched.state,
		Offline:       b.sched.offline,
		Revoked:       b.sched.revoked,
		Stats:         b.tally.stats,
		Calls:         b.tally.calls,
		Ignored:       b.tally.ignored,
		AppointmentID: b.sched.current,

		NextAppointmentID: b.sched.nextAppt,
		NextWindowAt:      b.sched.nextAt,
		TooEarly:          b.sched.tooEarly,
		Help:              b.clinic.help,
		HelpComingFrom:    b.clinic.helpFrom,
		JoinMode:          b.sched.joinMode,
		Outbox:            b.out.pending,
		Role:              b.cfg.Role,
		Queue:             b.clinic.queue,
		ClinicPhone:       b.clinic.phone,
		ClinicID:          b.clinic.id,
		AutoJoinCancelled: b.sched.current != "" && b.sched.left[b.sched.current],
	}
	switch {
	case b.call != nil:
		s.AppointmentID, s.CallID, s.Connected = b.call.apptID, b.call.id, b.call.connected == nil
		s.Muted = b.call.muted
		s.VideoPaused = b.call.paused
	case b.sched.waiting != "":
		s.AppointmentID = b.sched.waiting
	}
	b.pub.set(s, func(prev, s Snapshot) {
		if s.State != prev.State {
			b.metrics.setState(s.State)
		}
		b.metrics.outbox.Set(float64(s.Outbox))
	})
}
