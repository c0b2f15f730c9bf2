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
	Stats         CallStats // the current (or last) call's stats at the last stats tick
	Calls         int       // calls started since Run
	Ignored       int       // button presses that did nothing (e.g. Join outside any window)
	Connects      int       // link connection attempts
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
	state     State
	offline   bool
	current   string          // appointment whose window is open
	waiting   string          // appointment arrived for
	arrivedAt time.Time       // first arrive for waiting
	left      map[string]bool // appointments the patient left with End: no auto re-arrive
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
	b.snap = Snapshot{State: Idle, Offline: true}
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

	b.log.Info("booth starting", "device", b.cfg.DeviceName, "switchboard", b.cfg.SwitchboardURL,
		"join_mode", b.cfg.JoinMode, "join_window", b.cfg.JoinWindow.String())
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
	}
	switch {
	case b.call != nil:
		s.AppointmentID, s.CallID, s.Connected = b.call.apptID, b.call.id, b.call.connected == nil
	case b.waiting != "":
		s.AppointmentID = b.waiting
	}
	if s == b.snap {
		return
	}
	if s.State != b.snap.State {
		b.metrics.setState(s.State)
	}
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
	case "cancelled", "canceled", "done", "completed", "ended":
		return false
	}
	return true
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
	b.current = ""
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
		b.log.Info("appointment over or cancelled while waiting; leaving the waiting room", "appointment", b.waiting)
		if err := b.link.send(ctx, signalling.TypeLeave, &signalling.Leave{AppointmentID: b.waiting}); err != nil && !errors.Is(err, errOffline) {
			b.log.Warn("send leave", "err", err)
		}
		b.waiting = ""
	}
	b.state = Idle
	for _, a := range appts {
		open := a.Start.Add(-b.cfg.JoinWindow)
		consider(open)
		consider(a.End)
		if b.cfg.JoinMode == JoinAuto {
			consider(a.Start)
		}
		if b.current == "" && !now.Before(open) {
			b.current = a.ID
			b.state = JoinWindow
			if b.cfg.JoinMode == JoinAuto && !now.Before(a.Start) && !b.left[a.ID] {
				b.arrive(ctx, a.ID)
			}
		}
	}
}

func (b *Booth) arrive(ctx context.Context, id string) {
	b.waiting, b.arrivedAt, b.state = id, b.clock.Now(), Waiting
	delete(b.left, id)
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
		case b.call == nil && b.waiting == "" && b.current != "":
			b.arrive(ctx, b.current)
			handled = true
		default:
			b.log.Info("join pressed outside an appointment window; ignored", "state", b.state.String())
		}
	case button.End:
		switch {
		case b.call != nil:
			id, appt := b.call.id, b.call.apptID
			if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: id, Reason: signalling.EndHangup}); err != nil {
				b.log.Warn("send end", "call", id, "err", err)
			}
			b.closeCall("hangup")
			b.markDone(appt)
			handled = true
		case b.waiting != "":
			// Offline, there is nothing to tell: the switchboard took us out of the waiting
			// room when the link dropped, and we do not re-arrive.
			if err := b.link.send(ctx, signalling.TypeLeave, &signalling.Leave{AppointmentID: b.waiting}); err != nil && !errors.Is(err, errOffline) {
				b.log.Warn("send leave", "appointment", b.waiting, "err", err)
			}
			b.log.Info("left the waiting room", "appointment", b.waiting)
			b.left[b.waiting] = true
			b.waiting = ""
			handled = true
		default:
			b.log.Info("end pressed with no call; ignored")
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
		b.metrics.linkUp.Set(1)
		b.log.Info("switchboard link up", "device_id", ev.welcome.ID, "clinic", ev.welcome.ClinicName)
		if b.waiting != "" {
			if err := b.link.send(ctx, signalling.TypeArrive, &signalling.Arrive{AppointmentID: b.waiting}); err != nil {
				b.log.Warn("resend arrive", "appointment", b.waiting, "err", err)
			}
		}
	case linkDown:
		b.offline = true
		b.metrics.linkUp.Set(0)
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
		b.onCall(ctx, m)
	case *signalling.SDP:
		if t != signalling.TypeOffer {
			b.log.Debug("ignored", "type", t)
			return
		}
		b.onOffer(ctx, m)
	case *signalling.Candidate:
		if b.call == nil || b.call.id != m.CallID {
			b.log.Debug("candidate for another call; ignored", "call", m.CallID)
			return
		}
		if err := b.call.ac.AddCandidate(*m); err != nil {
			b.link.warn("add remote candidate", "call", m.CallID, "err", err)
		}
	case *signalling.End:
		if b.call == nil || b.call.id != m.CallID {
			b.log.Debug("end for another call; ignored", "call", m.CallID)
			return
		}
		appt := b.call.apptID
		b.log.Info("call ended by the other side", "call", m.CallID, "reason", m.Reason)
		b.closeCall("remote_" + m.Reason)
		if m.Reason == signalling.EndPeerLost {
			// The clinician's connection dropped; wait for them to admit us again.
			b.arrive(ctx, appt)
			return
		}
		b.markDone(appt)
	}
}

func (b *Booth) onCall(ctx context.Context, m *signalling.Call) {
	refuse := func(why string) {
		b.log.Warn("refusing call", "call", m.CallID, "why", why)
		if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: m.CallID, Reason: signalling.EndFailed}); err != nil {
			b.log.Warn("send end", "call", m.CallID, "err", err)
		}
	}
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
		b.markDone(cc.apptID)
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
	b.markDone(cc.apptID)
}

func (b *Booth) onConnected() {
	b.call.connected = nil
	if !b.arrivedAt.IsZero() {
		lat := b.clock.Since(b.arrivedAt)
		b.metrics.joinLatency.Observe(lat.Seconds())
		b.log.Info("call connected", "call", b.call.id, "join_latency", lat)
	}
}

func (b *Booth) readStats() {
	s := b.call.ac.Stats()
	b.metrics.addStats(b.stats, s)
	b.stats = s
}

// closeCall closes the call in progress. result labels the calls metric.
func (b *Booth) closeCall(result string) {
	cc := b.call
	cc.mu.Lock()
	cc.closed = true
	cc.mu.Unlock()
	b.readStats()
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
