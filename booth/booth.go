package booth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

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

// Join modes, as in the config file.
const (
	JoinAuto   = "auto"
	JoinButton = "button"
)

// Device roles, as in the config file.
const (
	// RoleBooth is a patient's booth: it keeps a schedule and joins waiting rooms.
	RoleBooth = "booth"
	// RoleClinic is the clinic-room appliance: it shows its clinic's waiting room, its
	// Join button (Next) admits the patient who has waited longest and End ends the
	// call. It offers; its Caller's calls must implement Offerer.
	RoleClinic = "clinic"
)

// outboxWindow bounds the outbox events sent and not yet acknowledged, so a long replay
// never has more acknowledgements in flight than the switchboard queues for one
// connection (64).
const outboxWindow = 32

// Config is what a Booth needs to know. cmd/boothd fills it from the config file.
type Config struct {
	// SwitchboardURL is the switchboard's base URL; the booth dials <URL>/api/v1/signal.
	SwitchboardURL string
	// Token is the device token, sent as a bearer token.
	Token string
	// DeviceName is for logs.
	DeviceName string
	// JoinMode is JoinAuto (arrive at the start time) or JoinButton (arrive on Join). In
	// both modes Join pressed during the window arrives at once.
	JoinMode string
	// JoinWindow is how long before the start an appointment can be joined.
	JoinWindow time.Duration
	// Role is RoleBooth (the default) or RoleClinic.
	Role string
	// StaffCall says a staff call (a desk buzzer, a lamp over the booth, a nurse-call
	// input) is wired at the booth's site and follows Snapshot.Help. Help then counts as
	// given the moment it is pressed, online or not, because the people on site are
	// called at once; the clinic's clinicians are told as well when the link is up.
	StaffCall bool
	// StateDir holds booth.db when Deps.Store is nil.
	StateDir string
	// StatsInterval is how often a call's stats are read into the metrics. Default 2s.
	StatsInterval time.Duration
	// ReconnectMin and ReconnectMax bound the link's backoff. Defaults 1s and 60s.
	ReconnectMin, ReconnectMax time.Duration
}

// Deps are the Booth's collaborators. Caller is required; the rest have defaults.
type Deps struct {
	// Caller starts calls (media/call in boothd, a fake in tests).
	Caller Caller
	// Buttons is the button source, e.g. a *button.Sim. Nil means no buttons.
	Buttons button.Source
	// Store is the appointment store. Nil opens a BoltStore in Config.StateDir, which
	// Close closes; a Store passed in is left open.
	Store Store
	// Clock drives the schedule and backoff. Default the real clock.
	Clock clockwork.Clock
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the booth's metrics. Nil registers nothing.
	Registerer prometheus.Registerer
	// HTTPClient dials the switchboard. Default http.DefaultClient.
	HTTPClient *http.Client
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
	JoinMode string
	// Outbox is how many recorded events the switchboard has not acknowledged yet.
	Outbox int
	// Role is RoleBooth or RoleClinic.
	Role string
	// Queue is the clinic's waiting room (RoleClinic only; nil until the first one).
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

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("booth closed")

// Booth is the boothd core: it keeps the schedule, decides when to join, holds the link to
// the switchboard and runs the call.
//
// One goroutine (the loop started by Run) owns the state machine; everything else (the
// link's reader, the button source, a call's candidate callback) hands it events on
// channels or only sends on the link.
type Booth struct {
	cfg      Config
	caller   Caller
	buttons  button.Source
	store    Store
	ownStore io.Closer
	clock    clockwork.Clock
	log      *slog.Logger
	metrics  *metrics
	link     *link

	buttonCh chan button.Event
	linkCh   chan linkEvent
	pingCh   chan chan struct{}

	mu       sync.Mutex // guards the fields below it
	snap     Snapshot
	subs     map[int]chan Snapshot
	nextSub  int
	active   ActiveCall
	running  bool
	closed   bool
	cancel   context.CancelFunc
	runDone  chan struct{}
	connects int

	// Owned by the loop goroutine.
	joinMode string
	nextAppt string
	nextAt   time.Time
	tooEarly bool
	help     bool   // the switchboard confirmed that staff were told of a Help press
	phone    string // the device's clinic's phone number, from the last welcome
	outboxN  int
	sentSeq  uint64            // highest outbox seq sent on this connection
	inflight map[string]string // key -> appointment of outbox events sent on this connection, not yet acknowledged
	queue    *signalling.Queue
	// presence: after the link returned while waiting, say arrive again once the outbox
	// is delivered (the switchboard took the booth out of the room when the link dropped).
	presence  bool
	state     State
	offline   bool
	current   string          // appointment whose window is open
	waiting   string          // appointment arrived for
	arrivedAt time.Time       // first arrive for waiting
	left      map[string]bool // appointments with an End press in force (kept in the store too): no auto re-arrive
	done      map[string]bool // appointments whose call ended (also marked in the store)
	call      *callCtl
	calls     int
	ignored   int
	stats     CallStats
	timer     clockwork.Timer
	ticker    clockwork.Ticker
}

// callCtl is the loop's handle on the call in progress.
type callCtl struct {
	ac        ActiveCall
	id        string
	apptID    string
	connected <-chan struct{} // nil once seen
	muted     bool

	link *link
	ctx  context.Context
	log  *slog.Logger

	mu       sync.Mutex // guards answered, pending, closed; held while sending candidates to keep their order
	answered bool
	pending  []signalling.Candidate
	closed   bool

	connectedAt time.Time // for the quality report at the end; only the loop touches it
}

// New builds a Booth. It opens the store but does not touch the network until Run.
func New(cfg Config, deps Deps) (*Booth, error) {
	if deps.Caller == nil {
		return nil, errors.New("booth: Deps.Caller is required")
	}
	if u, err := url.Parse(cfg.SwitchboardURL); err != nil || u.Host == "" {
		return nil, fmt.Errorf("booth: switchboard URL %q is not a URL with a host", cfg.SwitchboardURL)
	}
	if cfg.JoinMode == "" {
		cfg.JoinMode = JoinAuto
	}
	if cfg.JoinMode != JoinAuto && cfg.JoinMode != JoinButton {
		return nil, fmt.Errorf("booth: join mode %q is not %q or %q", cfg.JoinMode, JoinAuto, JoinButton)
	}
	if cfg.Role == "" {
		cfg.Role = RoleBooth
	}
	if cfg.Role != RoleBooth && cfg.Role != RoleClinic {
		return nil, fmt.Errorf("booth: role %q is not %q or %q", cfg.Role, RoleBooth, RoleClinic)
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = 2 * time.Second
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = time.Second
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = max(60*time.Second, cfg.ReconnectMin)
	}
	b := &Booth{
		cfg:      cfg,
		caller:   deps.Caller,
		buttons:  deps.Buttons,
		store:    deps.Store,
		clock:    deps.Clock,
		log:      deps.Logger,
		buttonCh: make(chan button.Event),
		linkCh:   make(chan linkEvent),
		pingCh:   make(chan chan struct{}),
		subs:     map[int]chan Snapshot{},
		offline:  true,
		left:     map[string]bool{},
		done:     map[string]bool{},
		inflight: map[string]string{},
	}
	if b.clock == nil {
		b.clock = clockwork.NewRealClock()
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With("component", "booth")
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("booth: register metrics: %w", err)
	}
	b.metrics = m
	if b.store == nil {
		if cfg.StateDir == "" {
			return nil, errors.New("booth: Config.StateDir is required when Deps.Store is nil")
		}
		s, err := OpenBoltStore(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		b.store, b.ownStore = s, s
		if c := s.Compaction(); c.Done {
			b.log.Info("compacted the appointment store", "bytes_before", c.SizeBefore, "bytes_after", c.SizeAfter, "free_bytes", c.FreeBytes)
		}
	}
	httpClient := deps.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	b.link = &link{
		url:        cfg.SwitchboardURL,
		token:      cfg.Token,
		agent:      "boothd " + version.String(),
		httpClient: httpClient,
		clock:      b.clock,
		log:        b.log.With("part", "link"),
		minBackoff: cfg.ReconnectMin,
		maxBackoff: cfg.ReconnectMax,
		events:     b.linkCh,
		onAttempt:  b.onLinkAttempt,
	}
	b.joinMode = cfg.JoinMode
	if set, err := b.store.Settings(); err != nil {
		b.log.Warn("read pushed settings; using the config's", "err", err)
	} else if set.JoinMode != "" {
		b.joinMode = set.JoinMode
	}
	if evs, err := b.store.Outbox(0, 0); err == nil {
		b.outboxN = len(evs)
	}
	// What End decided before a restart (a power cut) still holds.
	if appts, err := b.store.Upcoming(b.clock.Now()); err != nil {
		b.log.Error("read End presses; the booth may join appointments the patient ended", "err", err)
	} else {
		for _, a := range appts {
			if a.EndPress != NoEndPress {
				b.left[a.ID] = true
			}
		}
	}
	b.snap = Snapshot{State: Idle, Offline: true, JoinMode: b.joinMode, Role: cfg.Role, Outbox: b.outboxN}
	b.metrics.setState(Idle)
	return b, nil
}

// Run runs the booth until ctx is cancelled or Close is called; both return nil. Run may
// be called once.
func (b *Booth) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if b.running {
		b.mu.Unlock()
		return errors.New("booth: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	b.running, b.cancel, b.runDone = true, cancel, make(chan struct{})
	b.mu.Unlock()
	defer close(b.runDone)
	defer cancel()

	b.log.Info("booth starting", "device", b.cfg.DeviceName, "role", b.cfg.Role, "switchboard", b.cfg.SwitchboardURL,
		"join_mode", b.joinMode, "join_window", b.cfg.JoinWindow.String(), "outbox", b.outboxN)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.link.run(gctx) })
	if b.buttons != nil {
		g.Go(func() error {
			if err := b.buttons.Run(gctx, b.buttonCh); err != nil {
				return fmt.Errorf("buttons: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error { return b.loop(gctx) })
	return g.Wait()
}

// Close stops Run, waits for it, and closes the store if the Booth opened it. It is
// idempotent.
func (b *Booth) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cancel, runDone := b.cancel, b.runDone
	b.mu.Unlock()
	if cancel != nil {
		cancel()
		<-runDone
	}
	if b.ownStore != nil {
		return b.ownStore.Close()
	}
	return nil
}

// Ping returns nil once the booth's loop has answered, so a watchdog can tell a running
// booth from a hung one; it fails when ctx ends first or the booth is not running.
func (b *Booth) Ping(ctx context.Context) error {
	b.mu.Lock()
	running, done := b.running, b.runDone
	b.mu.Unlock()
	if !running {
		return errors.New("booth is not running")
	}
	reply := make(chan struct{})
	select {
	case b.pingCh <- reply:
	case <-done:
		return errors.New("booth has stopped")
	case <-ctx.Done():
		return fmt.Errorf("booth loop did not answer: %w", ctx.Err())
	}
	select {
	case <-reply:
		return nil
	case <-done:
		return errors.New("booth has stopped")
	case <-ctx.Done():
		return fmt.Errorf("booth loop did not answer: %w", ctx.Err())
	}
}

// State returns the booth's current state.
func (b *Booth) State() State { return b.Snapshot().State }

// Snapshot returns the booth's current state and counters.
func (b *Booth) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snap
}

// Appointments returns the stored appointments that have not ended.
func (b *Booth) Appointments() ([]Appointment, error) {
	return b.store.Upcoming(b.clock.Now())
}

// CallStats returns the live stats of the call in progress, and false when there is none.
func (b *Booth) CallStats() (CallStats, bool) {
	b.mu.Lock()
	ac := b.active
	b.mu.Unlock()
	if ac == nil {
		return CallStats{}, false
	}
	return ac.Stats(), true
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

func (b *Booth) onLinkAttempt(reconnect bool) {
	b.mu.Lock()
	b.connects++
	s := b.snap
	s.Connects = b.connects
	b.setSnapLocked(s)
	b.mu.Unlock()
	if reconnect {
		b.metrics.reconnects.Inc()
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
		Outbox:            b.outboxN,
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

func (b *Booth) loop(ctx context.Context) error {
	defer func() {
		if b.timer != nil {
			b.timer.Stop()
		}
	}()
	defer func() {
		if b.call != nil {
			b.closeCall("shutdown")
			b.publish()
		}
	}()
	b.evaluate(ctx)
	b.publish()
	for {
		var callDone, callConnected <-chan struct{}
		var timerC, statsC <-chan time.Time
		if b.timer != nil {
			timerC = b.timer.Chan()
		}
		if b.call != nil {
			callDone, callConnected, statsC = b.call.ac.Done(), b.call.connected, b.ticker.Chan()
		}
		select {
		case <-ctx.Done():
			return nil
		case ev := <-b.buttonCh:
			b.evaluate(ctx) // the clock may have moved since the last event
			b.onButton(ctx, ev)
		case ev := <-b.linkCh:
			if ack, ok := ev.body.(*signalling.EventAck); ok {
				b.onAcks(ctx, ack)
				break
			}
			b.onLink(ctx, ev)
		case <-timerC:
		case <-callDone:
			b.onCallFailed(ctx)
		case <-callConnected:
			b.onConnected()
		case <-statsC:
			b.readStats()
		case reply := <-b.pingCh:
			close(reply)
			continue
		}
		b.evaluate(ctx)
		b.publish()
	}
}

// recheckEvery bounds how long the booth goes without re-reading the clock and schedule.
const recheckEvery = time.Minute

// joinable reports whether the booth may still join a.
func (b *Booth) joinable(a Appointment) bool {
	if a.Done || b.done[a.ID] {
		return false
	}
	switch a.Status {
	case "canceled", "done", "completed":
		return false
	}
	return !appointment.Status(a.Status).Final() && !a.Local.Final()
}

// evaluate works out the state from the schedule and the clock, arrives in auto mode at
// the start time, and sets the timer for the next moment anything changes.
func (b *Booth) evaluate(ctx context.Context) {
	now := b.clock.Now()
	all, err := b.store.Upcoming(now)
	if err != nil {
		b.link.warn("read appointments", "err", err)
		return
	}
	var appts []Appointment
	for _, a := range all {
		if b.joinable(a) {
			appts = append(appts, a)
		}
	}
	b.current, b.nextAppt, b.nextAt = "", "", time.Time{}
	next := time.Time{}
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	// Timers run on the monotonic clock, the schedule on the wall clock. A Raspberry Pi has
	// no real-time clock and NTP may step its wall clock long after boot, so look again at
	// least every recheckEvery rather than trusting one long timer.
	consider(now.Add(recheckEvery))
	defer func() {
		// Reset re-arms a running timer in one step, so the clock never sees it missing
		// (tests count the fake clock's waiters). Until, not next.Sub(now): if the clock
		// moved on while we decided, the timer fires at once rather than late.
		switch {
		case next.IsZero() && b.timer != nil:
			b.timer.Stop()
		case next.IsZero():
		case b.timer == nil:
			b.timer = b.clock.NewTimer(b.clock.Until(next))
		default:
			b.timer.Reset(b.clock.Until(next))
		}
	}()

	if b.call != nil {
		b.state = InCall
		return
	}
	if b.waiting != "" {
		for _, a := range appts {
			if a.ID == b.waiting {
				b.state = Waiting
				consider(a.End)
				return
			}
		}
		b.log.Info("appointment over, cancelled or closed while waiting; leaving the waiting room", "appointment", b.waiting)
		if a, err := b.store.Get(b.waiting); err != nil || !appointment.Status(a.Status).Final() {
			if err := b.link.send(ctx, signalling.TypeLeave, &signalling.Leave{AppointmentID: b.waiting}); err != nil && !errors.Is(err, errOffline) {
				b.log.Warn("send leave", "err", err)
			}
		}
		b.waiting = ""
	}
	b.state = Idle
	for _, a := range appts {
		open := a.Start.Add(-b.cfg.JoinWindow)
		consider(open)
		consider(a.End)
		if b.joinMode == JoinAuto {
			consider(a.Start)
		}
		if b.current == "" && !now.Before(open) {
			b.current = a.ID
			b.state = JoinWindow
			b.tooEarly = false
			if localOf(a) == appointment.Scheduled {
				b.record(ctx, a.ID, appointment.OpenWindow)
			}
			if b.joinMode == JoinAuto && !now.Before(a.Start) && !b.left[a.ID] {
				b.arrive(ctx, a.ID)
			}
		}
		if b.current == "" && b.nextAppt == "" && now.Before(open) {
			b.nextAppt, b.nextAt = a.ID, open
		}
	}
}

// record appends an event to the durable outbox and sends it if the link is up. It
// reports whether the event was recorded: one the life cycle does not allow from the
// booth's view of the appointment is not.
func (b *Booth) record(ctx context.Context, id string, ev appointment.Event) bool {
	e, err := b.store.Record(id, ev, b.clock.Now())
	if err != nil {
		if errors.Is(err, appointment.ErrIllegal) {
			b.log.Debug("event not recorded", "appointment", id, "event", ev, "why", err)
		} else {
			b.log.Error("record event", "appointment", id, "event", ev, "err", err)
		}
		return false
	}
	b.outboxN++
	b.log.Info("event recorded", "appointment", id, "event", ev, "key", e.Key)
	b.flushOutbox(ctx)
	return true
}

// decide keeps an End press (or, with NoEndPress, Join undoing it) for appointment id,
// durably and in one transaction with ev when there is one, before the screen can show
// it. It reports whether ev was recorded, as record does.
func (b *Booth) decide(ctx context.Context, id string, end EndPress, ev appointment.Event) bool {
	if end == NoEndPress {
		delete(b.left, id)
	} else {
		b.left[id] = true // holds until a restart even if the store fails
	}
	e, recorded, err := b.store.Decide(id, end, ev, b.clock.Now())
	switch {
	case err != nil:
		b.log.Error("keep End press", "appointment", id, "end_press", end, "event", ev, "err", err)
		return false
	case !recorded:
		if ev != "" {
			b.log.Debug("event not recorded: the booth's view of the appointment does not allow it", "appointment", id, "event", ev)
		}
		return false
	}
	b.outboxN++
	b.log.Info("event recorded", "appointment", id, "event", ev, "key", e.Key)
	b.flushOutbox(ctx)
	return true
}

// flushOutbox sends recorded events in order, keeping at most outboxWindow of them
// unacknowledged, while the link is up.
func (b *Booth) flushOutbox(ctx context.Context) {
	if b.offline || len(b.inflight) >= outboxWindow {
		return
	}
	evs, err := b.store.Outbox(b.sentSeq, outboxWindow-len(b.inflight))
	if err != nil {
		b.log.Error("read outbox", "err", err)
		return
	}
	for _, e := range evs {
		err := b.link.send(ctx, signalling.TypeEvent, &signalling.Event{Key: e.Key, AppointmentID: e.AppointmentID, Event: string(e.Event), At: e.At})
		if err != nil {
			if !errors.Is(err, errOffline) {
				b.link.warn("send outbox event; resending when the link is back", "key", e.Key, "err", err)
			}
			return
		}
		b.sentSeq = e.Seq
		b.inflight[e.Key] = e.AppointmentID
	}
}

// onAcks forgets acknowledged events: ack and any others already waiting on the link,
// in one transaction.
func (b *Booth) onAcks(ctx context.Context, ack *signalling.EventAck) {
	acks := []*signalling.EventAck{ack}
	var next *linkEvent
collect:
	for len(acks) < 4*outboxWindow {
		select {
		case ev := <-b.linkCh:
			if a, ok := ev.body.(*signalling.EventAck); ok {
				acks = append(acks, a)
				continue
			}
			next = &ev
			break collect
		default:
			break collect
		}
	}
	keys := make([]string, 0, len(acks))
	status := map[string]string{}
	for _, a := range acks {
		keys = append(keys, a.Key)
		if a.Refused != "" {
			b.log.Warn("switchboard refused a recorded event", "key", a.Key, "status", a.Status, "why", a.Refused)
		}
	}
	n := 0
	for _, a := range acks {
		if id, ok := b.inflight[a.Key]; ok {
			n++
			delete(b.inflight, a.Key)
			if a.Status != "" {
				status[id] = a.Status
			}
		}
	}
	if err := b.store.Ack(status, keys...); err != nil {
		b.log.Error("forget acknowledged events", "err", err)
	} else {
		b.outboxN = max(0, b.outboxN-n)
	}
	b.flushOutbox(ctx)
	b.sayPresence(ctx)
	if next != nil {
		b.onLink(ctx, *next)
	}
}

func (b *Booth) arrive(ctx context.Context, id string) {
	b.waiting, b.arrivedAt, b.state = id, b.clock.Now(), Waiting
	if a, err := b.store.Get(id); err == nil && localOf(a) == appointment.Scheduled {
		b.record(ctx, id, appointment.OpenWindow)
	}
	if b.decide(ctx, id, NoEndPress, appointment.Arrive) {
		b.log.Info("arrived in the waiting room", "appointment", id, "offline", b.offline)
		return
	}
	// By the booth's own record it is in the room already (the clinician's connection
	// dropped, say): say so live, which the switchboard takes as harmless.
	err := b.link.send(ctx, signalling.TypeArrive, &signalling.Arrive{AppointmentID: id})
	switch {
	case errors.Is(err, errOffline):
		b.log.Info("arrived while offline; telling the switchboard when the link is back", "appointment", id)
	case err != nil:
		b.log.Warn("send arrive; resending when the link is back", "appointment", id, "err", err)
	default:
		b.log.Info("arrived in the waiting room", "appointment", id)
	}
}

func (b *Booth) onButton(ctx context.Context, ev button.Event) {
	handled := false
	switch ev.Button {
	case button.Join:
		switch {
		case b.cfg.Role == RoleClinic:
			handled = b.admitNext(ctx)
		case b.call == nil && b.waiting == "" && b.current != "":
			b.arrive(ctx, b.current)
			handled = true
		case b.call == nil && b.waiting == "" && b.nextAppt != "":
			b.tooEarly = true
			b.log.Info("join pressed before the window; showing when it opens", "appointment", b.nextAppt, "opens", b.nextAt)
		default:
			b.log.Info("join pressed outside an appointment window; ignored", "state", b.state.String())
		}
	case button.Help:
		// Without a staff call on site only the switchboard's echo sets b.help: the booth
		// must not say help is coming until someone has been told.
		if b.cfg.StaffCall && !b.help {
			b.help = true
			b.log.Info("help requested: staff on site called")
			handled = true
		}
		if err := b.link.send(ctx, signalling.TypeHelp, &signalling.Help{Requested: true}); err != nil {
			if !b.cfg.StaffCall || !errors.Is(err, errOffline) {
				b.log.Warn("help not sent to the clinic", "err", err, "staff_on_site_called", b.cfg.StaffCall)
			}
		} else {
			b.log.Info("help requested")
			handled = true
		}
	case button.End:
		switch {
		case b.help && b.call == nil:
			b.help = false
			if err := b.link.send(ctx, signalling.TypeHelp, &signalling.Help{Requested: false}); err != nil && !errors.Is(err, errOffline) {
				b.log.Warn("send help over", "err", err)
			}
			handled = true
		case b.call != nil:
			id, appt := b.call.id, b.call.apptID
			if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: id, Reason: signalling.EndHangup}); err != nil {
				b.log.Warn("send end", "call", id, "err", err)
			}
			b.closeCall("hangup")
			b.markDone(appt)
			handled = true
		case b.waiting != "":
			// Recorded, so the switchboard learns of it even if the link is down now. If
			// the booth's record does not allow it, say it live (offline there is nothing
			// to tell: the switchboard took us out of the room when the link dropped).
			// The End press is kept with it: a restart must not put the booth back.
			if !b.decide(ctx, b.waiting, EndLeft, appointment.Leave) {
				if err := b.link.send(ctx, signalling.TypeLeave, &signalling.Leave{AppointmentID: b.waiting}); err != nil && !errors.Is(err, errOffline) {
					b.log.Warn("send leave", "appointment", b.waiting, "err", err)
				}
			}
			b.log.Info("left the waiting room", "appointment", b.waiting)
			b.waiting = ""
			handled = true
		case ev.Kind == button.LongPress && b.current != "" && !b.left[b.current]:
			// Holding End in a join window cancels the automatic join: staff whose
			// resident is not ready stop the booth going into the waiting room by itself.
			// Join still joins. A short press here means nothing, so a knock does not
			// cancel anything. Kept in the store, so a restart does not undo it.
			b.decide(ctx, b.current, EndHeld, "")
			b.tooEarly = false
			b.log.Info("automatic join cancelled (End held)", "appointment", b.current)
			handled = true
		case ev.Kind == button.LongPress && b.tooEarly:
			b.tooEarly = false
			handled = true
		default:
			b.log.Info("end pressed with no call; ignored", "kind", ev.Kind.String())
		}
	case button.Mute:
		if b.call != nil {
			if m, ok := b.call.ac.(Muter); ok {
				if err := m.SetMuted(!b.call.muted); err != nil {
					b.log.Warn("mute", "err", err)
				} else {
					b.call.muted = !b.call.muted
					handled = true
				}
			}
		}
	default:
		b.log.Info("button not handled yet", "button", string(ev.Button))
	}
	result := "handled"
	if !handled {
		result = "ignored"
		b.ignored++
	}
	b.metrics.presses.WithLabelValues(string(ev.Button), result).Inc()
}

func (b *Booth) onLink(ctx context.Context, ev linkEvent) {
	switch ev.kind {
	case linkUp:
		b.offline = false
		b.phone = ev.welcome.ClinicPhone
		b.metrics.linkUp.Set(1)
		b.log.Info("switchboard link up", "device_id", ev.welcome.ID, "clinic", ev.welcome.ClinicName, "outbox", b.outboxN)
		b.sentSeq = 0
		clear(b.inflight)
		b.presence = b.waiting != ""
		b.flushOutbox(ctx)
		b.sayPresence(ctx)
	case linkDown:
		b.offline = true
		b.metrics.linkUp.Set(0)
		b.presence = false
		clear(b.inflight)
		if b.call != nil && b.cfg.Role == RoleClinic {
			b.log.Warn("link lost during a call; ending it", "call", b.call.id)
			b.closeCall("link_lost")
		}
		if b.call != nil {
			// The switchboard ends our calls when our connection drops; the patient is
			// put back in the waiting room when the link returns.
			appt := b.call.apptID
			b.log.Warn("link lost during a call; ending it and waiting again", "call", b.call.id)
			b.closeCall("link_lost")
			b.waiting, b.arrivedAt = appt, b.clock.Now()
		}
	case linkMessage:
		b.onMessage(ctx, ev.typ, ev.body)
	}
}

func (b *Booth) onMessage(ctx context.Context, t signalling.Type, body any) {
	switch m := body.(type) {
	case *signalling.Schedule:
		if err := b.store.ReplaceSchedule(m.Appointments); err != nil {
			b.log.Error("store schedule", "err", err)
			return
		}
		b.log.Info("schedule updated", "appointments", len(m.Appointments))
	case *signalling.Call:
		if b.cfg.Role == RoleClinic {
			b.onOffererCall(ctx, m)
			return
		}
		b.onCall(ctx, m)
	case *signalling.SDP:
		switch {
		case t == signalling.TypeOffer && b.cfg.Role == RoleBooth:
			b.onOffer(ctx, m)
		case t == signalling.TypeAnswer && b.cfg.Role == RoleClinic:
			b.onAnswer(ctx, m)
		default:
			b.log.Debug("ignored", "type", t)
		}
	case *signalling.Settings:
		b.onSettings(ctx, m)
	case *signalling.Queue:
		if b.cfg.Role == RoleClinic {
			b.queue = m
		}
	case *signalling.Candidate:
		if b.call == nil || b.call.id != m.CallID {
			b.log.Debug("candidate for another call; ignored", "call", m.CallID)
			return
		}
		if err := b.call.ac.AddCandidate(*m); err != nil {
			b.link.warn("add remote candidate", "call", m.CallID, "err", err)
		}
	case *signalling.Help:
		b.help = m.Requested
		b.log.Info("help", "requested", m.Requested, "by", m.DeviceName)
	case *signalling.End:
		if b.call == nil || b.call.id != m.CallID {
			b.log.Debug("end for another call; ignored", "call", m.CallID)
			return
		}
		appt := b.call.apptID
		b.log.Info("call ended by the other side", "call", m.CallID, "reason", m.Reason)
		b.closeCall("remote_" + m.Reason)
		if b.cfg.Role == RoleClinic {
			return // the appointment is the booth's to rejoin or not
		}
		if m.Reason == signalling.EndPeerLost || m.Reason == signalling.EndFailed {
			// The clinician's connection dropped, or the media failed: the consultation has
			// not happened, so wait for them to admit us again.
			b.arrive(ctx, appt)
			return
		}
		b.markDone(appt)
	}
}

// refuseCall turns down a call the switchboard started, telling it the call failed.
func (b *Booth) refuseCall(ctx context.Context, callID, why string) {
	b.log.Warn("refusing call", "call", callID, "why", why)
	if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndFailed}); err != nil {
		b.log.Warn("send end", "call", callID, "err", err)
	}
}

func (b *Booth) onCall(ctx context.Context, m *signalling.Call) {
	refuse := func(why string) { b.refuseCall(ctx, m.CallID, why) }
	switch {
	case m.Role != signalling.CallAnswerer:
		refuse("the booth only answers calls, got role " + string(m.Role))
		return
	case b.call != nil:
		refuse("already in call " + b.call.id)
		return
	case b.waiting == "":
		refuse("not in the waiting room")
		return
	}
	appt := m.AppointmentID
	if appt == "" {
		appt = b.waiting
	}
	cc := &callCtl{id: m.CallID, apptID: appt, link: b.link, ctx: ctx, log: b.log}
	ac, err := b.caller.StartCall(ctx, CallParams{
		CallID:        m.CallID,
		AppointmentID: appt,
		ICEServers:    m.ICEServers,
		OnCandidate:   cc.onCandidate,
	})
	if err != nil {
		b.log.Error("start call", "call", m.CallID, "err", err)
		refuse("media did not start")
		return
	}
	cc.ac, cc.connected = ac, ac.Connected()
	b.call, b.waiting, b.stats = cc, "", CallStats{}
	b.calls++
	b.ticker = b.clock.NewTicker(b.cfg.StatsInterval)
	b.mu.Lock()
	b.active = ac
	b.mu.Unlock()
	b.log.Info("call started", "call", m.CallID, "appointment", appt, "peer", m.Peer)
}

func (b *Booth) onOffer(ctx context.Context, m *signalling.SDP) {
	if b.call == nil || b.call.id != m.CallID {
		b.log.Warn("offer for a call we are not in; ignored", "call", m.CallID)
		return
	}
	cc := b.call
	answer, err := cc.ac.Answer(ctx, m.SDP)
	if err == nil {
		err = b.link.send(ctx, signalling.TypeAnswer, &signalling.SDP{CallID: cc.id, SDP: answer})
	}
	if err != nil {
		b.log.Error("answer offer", "call", cc.id, "err", err)
		b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: cc.id, Reason: signalling.EndFailed})
		b.closeCall("failed")
		b.arrive(ctx, cc.apptID) // the switchboard puts a failed call's patient back in the waiting room
		return
	}
	cc.flushCandidates()
}

func (b *Booth) onCallFailed(ctx context.Context) {
	cc := b.call
	b.log.Warn("call media failed", "call", cc.id)
	if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: cc.id, Reason: signalling.EndFailed}); err != nil {
		b.log.Warn("send end", "call", cc.id, "err", err)
	}
	b.closeCall("failed")
	if b.cfg.Role != RoleClinic {
		// A failed call is not a consultation: wait to be admitted again (the switchboard
		// has put the patient back in the waiting room).
		b.arrive(ctx, cc.apptID)
	}
}

func (b *Booth) onConnected() {
	b.call.connected = nil
	b.help = false // a person is with the patient now
	b.call.connectedAt = b.clock.Now()
	if !b.arrivedAt.IsZero() {
		lat := b.clock.Since(b.arrivedAt)
		b.metrics.joinLatency.Observe(lat.Seconds())
		b.log.Info("call connected", "call", b.call.id, "join_latency", lat)
	}
}

func (b *Booth) readStats() {
	s := b.call.ac.Stats()
	b.metrics.setCallGauges(s)
	b.stats = s
}

// reportQuality tells the switchboard how a call that carried media went, for the
// commissioners' report. Best effort: a booth that is offline as the call ends keeps
// nothing (the call itself was online).
func (b *Booth) reportQuality(cc *callCtl) {
	if cc.connectedAt.IsZero() || b.cfg.Role == RoleClinic {
		return // no media flowed, or the appointment is a booth's to report
	}
	q := signalling.Quality{
		AppointmentID: cc.apptID,
		CallID:        cc.id,
		BitrateKbps:   min(max(b.stats.MeanSendBitrateKbps, 0), 100_000),
		PacketLossPct: min(max(b.stats.PacketLoss*100, 0), 100),
		RTTMs:         min(float64(b.stats.RTT)/float64(time.Millisecond), 60_000),
		Seconds:       min(b.clock.Since(cc.connectedAt).Seconds(), 86_400),
	}
	if err := b.link.send(cc.ctx, signalling.TypeQuality, &q); err != nil {
		b.log.Debug("call quality not sent", "call", cc.id, "err", err)
	}
}

// closeCall closes the call in progress. result labels the calls metric.
func (b *Booth) closeCall(result string) {
	cc := b.call
	cc.mu.Lock()
	cc.closed = true
	cc.mu.Unlock()
	b.readStats()
	b.reportQuality(cc)
	if err := cc.ac.Close(); err != nil {
		b.log.Warn("close call", "call", cc.id, "err", err)
	}
	b.ticker.Stop()
	b.call, b.ticker = nil, nil
	b.mu.Lock()
	b.active = nil
	b.mu.Unlock()
	b.metrics.clearCallGauges()
	b.metrics.calls.WithLabelValues(result).Inc()
	b.log.Info("call closed", "call", cc.id, "result", result)
}

func (b *Booth) markDone(id string) {
	b.done[id] = true
	b.waiting = ""
	if err := b.store.MarkDone(id); err != nil && !errors.Is(err, ErrNotFound) {
		b.log.Warn("mark appointment done", "appointment", id, "err", err)
	}
}

// onCandidate sends a local candidate, holding it back until the answer has gone: the
// offerer cannot add candidates before it has our answer.
func (cc *callCtl) onCandidate(c signalling.Candidate) {
	c.CallID = cc.id
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed {
		return
	}
	if !cc.answered {
		cc.pending = append(cc.pending, c)
		return
	}
	cc.sendCandidate(c)
}

func (cc *callCtl) flushCandidates() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.answered = true
	for _, c := range cc.pending {
		cc.sendCandidate(c)
	}
	cc.pending = nil
}

// sendCandidate must hold cc.mu.
func (cc *callCtl) sendCandidate(c signalling.Candidate) {
	if err := cc.link.send(cc.ctx, signalling.TypeCandidate, &c); err != nil {
		cc.link.warn("send candidate", "call", cc.id, "err", err)
	}
}

// sayPresence tells the switchboard, once the outbox has been delivered after the link
// returned, that the booth is still waiting.
func (b *Booth) sayPresence(ctx context.Context) {
	if !b.presence || b.offline || b.waiting == "" || b.outboxN > 0 {
		return
	}
	b.presence = false
	if err := b.link.send(ctx, signalling.TypeArrive, &signalling.Arrive{AppointmentID: b.waiting}); err != nil {
		b.log.Warn("resend arrive", "appointment", b.waiting, "err", err)
	}
}

// onSettings applies settings the switchboard pushed, once per seq, and acknowledges
// them (again, if they were applied before the last acknowledgement got lost).
func (b *Booth) onSettings(ctx context.Context, m *signalling.Settings) {
	cur, err := b.store.Settings()
	if err != nil {
		b.log.Error("read settings", "err", err)
		return
	}
	if m.Seq > cur.Seq {
		if err := b.store.SaveSettings(Settings{Seq: m.Seq, JoinMode: m.JoinMode}); err != nil {
			b.log.Error("store pushed settings; not acknowledging them", "err", err)
			return
		}
		if m.JoinMode != b.joinMode {
			b.log.Info("join mode changed by the switchboard", "from", b.joinMode, "to", m.JoinMode)
		}
		b.joinMode = m.JoinMode
	}
	if err := b.link.send(ctx, signalling.TypeSettingsAck, &signalling.SettingsAck{Seq: m.Seq}); err != nil {
		b.log.Warn("acknowledge settings", "seq", m.Seq, "err", err)
	}
}

// admitNext (the clinic-room appliance's Next button) admits the patient who has waited
// longest and is not in a call. The switchboard decides: if someone else admitted them a
// moment earlier, it refuses with a conflict and the queue that follows shows it.
func (b *Booth) admitNext(ctx context.Context) bool {
	if b.call != nil || b.queue == nil {
		b.log.Info("next pressed with a call in progress or no waiting room yet; ignored")
		return false
	}
	for _, e := range b.queue.Entries {
		if e.InCall {
			continue
		}
		if err := b.link.send(ctx, signalling.TypeAdmit, &signalling.Admit{AppointmentID: e.AppointmentID}); err != nil {
			b.log.Warn("send admit", "appointment", e.AppointmentID, "err", err)
			return false
		}
		b.log.Info("admitting the patient who has waited longest", "appointment", e.AppointmentID, "since", e.Since)
		return true
	}
	b.log.Info("next pressed with nobody waiting; ignored")
	return false
}

// onOffererCall starts a call the clinic-room appliance admitted: it offers.
func (b *Booth) onOffererCall(ctx context.Context, m *signalling.Call) {
	refuse := func(why string) { b.refuseCall(ctx, m.CallID, why) }
	switch {
	case m.Role != signalling.CallOfferer:
		refuse("the clinic-room appliance only offers, got role " + string(m.Role))
		return
	case b.call != nil:
		refuse("already in call " + b.call.id)
		return
	}
	cc := &callCtl{id: m.CallID, apptID: m.AppointmentID, link: b.link, ctx: ctx, log: b.log}
	ac, err := b.caller.StartCall(ctx, CallParams{
		CallID:        m.CallID,
		AppointmentID: m.AppointmentID,
		Role:          signalling.CallOfferer,
		ICEServers:    m.ICEServers,
		OnCandidate:   cc.onCandidate,
	})
	if err != nil {
		b.log.Error("start call", "call", m.CallID, "err", err)
		refuse("media did not start")
		return
	}
	off, ok := ac.(Offerer)
	var sdp string
	if ok {
		sdp, err = off.Offer(ctx)
	}
	if err == nil && ok {
		err = b.link.send(ctx, signalling.TypeOffer, &signalling.SDP{CallID: m.CallID, SDP: sdp})
	}
	if !ok || err != nil {
		ac.Close()
		b.log.Error("offer", "call", m.CallID, "offerer", ok, "err", err)
		refuse("could not offer")
		return
	}
	cc.ac, cc.connected = ac, ac.Connected()
	b.call, b.stats = cc, CallStats{}
	b.calls++
	b.arrivedAt = b.clock.Now()
	b.ticker = b.clock.NewTicker(b.cfg.StatsInterval)
	b.mu.Lock()
	b.active = ac
	b.mu.Unlock()
	b.log.Info("call started", "call", m.CallID, "appointment", m.AppointmentID, "patient", m.Peer)
	cc.flushCandidates() // the offer is out: the switchboard relays candidates now
}

func (b *Booth) onAnswer(ctx context.Context, m *signalling.SDP) {
	if b.call == nil || b.call.id != m.CallID {
		b.log.Warn("answer for a call we are not in; ignored", "call", m.CallID)
		return
	}
	cc := b.call
	if err := cc.ac.(Offerer).SetAnswer(m.SDP); err != nil {
		b.log.Error("apply answer", "call", cc.id, "err", err)
		b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: cc.id, Reason: signalling.EndFailed}) //nolint:errcheck // the call is being closed anyway
		b.closeCall("failed")
	}
}
