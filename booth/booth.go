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

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/signalling"
)

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
	remote   RemoteConfig // nil: remote config is ignored
	health   HealthSource // nil: no heartbeats
	diag     Diagnostics  // nil: requests are answered with an error
	// netChanges is Deps.NetworkChanges (nil: never ready).
	netChanges <-chan struct{}

	in  inbox     // what the loop waits on besides the clock and the call
	pub publisher // the snapshot and its subscribers; safe from any goroutine
	run runState  // Run and Close, and the call CallStats reads; safe from any goroutine

	// Owned by the loop goroutine.
	sched  schedState // where the booth is in its appointments' day
	out    *outbox    // events the switchboard has not acknowledged
	call   *callCtl   // the call in progress, or nil
	clinic clinicInfo // what the switchboard says about the booth's clinic
	tally  tally      // counts for the snapshot
}

// inbox is what the loop receives from the booth's other goroutines.
type inbox struct {
	buttons chan button.Event
	link    chan linkEvent
	ping    chan chan struct{}
}

// runState is Run's life cycle and the active call, which other goroutines read.
type runState struct {
	mu      sync.Mutex // guards the fields below
	running bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when Run returns
	active  ActiveCall    // the call in progress, for CallStats
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
		cfg.JoinMode = device.JoinAuto
	}
	if !cfg.JoinMode.Valid() {
		return nil, fmt.Errorf("booth: join mode %q is not %q or %q", cfg.JoinMode, device.JoinAuto, device.JoinButton)
	}
	if cfg.Role == "" {
		cfg.Role = device.RoleBooth
	}
	if !cfg.Role.Valid() {
		return nil, fmt.Errorf("booth: role %q is not %q or %q", cfg.Role, device.RoleBooth, device.RoleClinic)
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
		cfg:        cfg,
		caller:     deps.Caller,
		buttons:    deps.Buttons,
		store:      deps.Store,
		clock:      deps.Clock,
		log:        deps.Logger,
		remote:     deps.RemoteConfig,
		health:     deps.Health,
		diag:       deps.Diagnostics,
		netChanges: deps.NetworkChanges,
		in:         inbox{buttons: make(chan button.Event), link: make(chan linkEvent), ping: make(chan chan struct{})},
		pub:        publisher{subs: map[int]chan Snapshot{}},
		sched:      schedState{offline: true, left: map[string]bool{}, done: map[string]bool{}},
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
		rediscover: cfg.Rediscover,
		token:      cfg.Token,
		agent:      "boothd " + version.String(),
		httpClient: httpClient,
		clock:      b.clock,
		log:        b.log.With("part", "link"),
		minBackoff: cfg.ReconnectMin,
		maxBackoff: cfg.ReconnectMax,
		events:     b.in.link,
		onAttempt:  b.onLinkAttempt,
		upKick:     make(chan struct{}, 1),
		diagnose:   make(chan *signalling.Diagnose, diagnoseQueue),
	}
	b.sched.joinMode = cfg.JoinMode
	if set, err := b.store.Settings(); err != nil {
		b.log.Warn("read pushed settings; using the config's", "err", err)
	} else if set.JoinMode != "" {
		// It was checked when it arrived; a damaged file must not set an unknown mode.
		if !set.JoinMode.Valid() {
			b.log.Warn("pushed settings in booth.db name an unknown join mode; using the config's", "join_mode", set.JoinMode)
		} else {
			b.sched.joinMode = set.JoinMode
		}
	}
	b.out = newOutbox(b.store, b.link, b.log)
	// What End decided before a restart (a power cut) still holds.
	if appts, err := b.store.Upcoming(b.clock.Now()); err != nil {
		b.log.Error("read End presses; the booth may join appointments the patient ended", "err", err)
	} else {
		for _, a := range appts {
			if a.EndPress != NoEndPress {
				b.sched.left[a.ID] = true
			}
		}
	}
	b.pub.snap = Snapshot{State: Idle, Offline: true, JoinMode: b.sched.joinMode, Role: cfg.Role, Outbox: b.out.pending}
	b.metrics.setState(Idle)
	return b, nil
}

// Run runs the booth until ctx is cancelled or Close is called; both return nil. Run may
// be called once.
func (b *Booth) Run(ctx context.Context) error {
	b.run.mu.Lock()
	if b.run.closed {
		b.run.mu.Unlock()
		return ErrClosed
	}
	if b.run.running {
		b.run.mu.Unlock()
		return errors.New("booth: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	b.run.running, b.run.cancel, b.run.done = true, cancel, make(chan struct{})
	b.run.mu.Unlock()
	defer close(b.run.done)
	defer cancel()

	b.log.Info("booth starting", "device", b.cfg.DeviceName, "role", b.cfg.Role, "switchboard", b.cfg.SwitchboardURL,
		"join_mode", b.sched.joinMode, "join_window", b.cfg.JoinWindow.String(), "outbox", b.out.pending)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.link.run(gctx) })
	if b.health != nil {
		g.Go(func() error { return b.heartbeatLoop(gctx) })
	}
	if b.buttons != nil {
		g.Go(func() error {
			if err := b.buttons.Run(gctx, b.in.buttons); err != nil {
				return fmt.Errorf("buttons: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error { return b.diagnoseLoop(gctx) })
	g.Go(func() error { return b.loop(gctx) })
	return g.Wait()
}

// Close stops Run, waits for it, and closes the store if the Booth opened it. It is
// idempotent.
func (b *Booth) Close() error {
	b.run.mu.Lock()
	if b.run.closed {
		b.run.mu.Unlock()
		return nil
	}
	b.run.closed = true
	cancel, runDone := b.run.cancel, b.run.done
	b.run.mu.Unlock()
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
	b.run.mu.Lock()
	running, done := b.run.running, b.run.done
	b.run.mu.Unlock()
	if !running {
		return errors.New("booth is not running")
	}
	reply := make(chan struct{})
	select {
	case b.in.ping <- reply:
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

// Appointments returns the stored appointments that have not ended.
func (b *Booth) Appointments() ([]Appointment, error) {
	return b.store.Upcoming(b.clock.Now())
}

// CallStats returns the live stats of the call in progress, and false when there is none.
func (b *Booth) CallStats() (CallStats, bool) {
	b.run.mu.Lock()
	ac := b.run.active
	b.run.mu.Unlock()
	if ac == nil {
		return CallStats{}, false
	}
	return ac.Stats(), true
}

func (b *Booth) onLinkAttempt(reconnect bool) {
	b.pub.countConnect()
	if reconnect {
		b.metrics.reconnects.Inc()
	}
}

func (b *Booth) loop(ctx context.Context) error {
	defer func() {
		if b.sched.timer != nil {
			b.sched.timer.Stop()
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
		var callDone, callConnected, pathC <-chan struct{}
		var timerC, statsC, restartC <-chan time.Time
		if b.sched.timer != nil {
			timerC = b.sched.timer.Chan()
		}
		if b.call != nil {
			callDone, callConnected, statsC = b.call.ac.Done(), b.call.connected, b.call.ticker.Chan()
			if r, ok := b.call.ac.(Restarter); ok {
				pathC = r.PathChanged()
			}
			if b.call.restartTimer != nil {
				restartC = b.call.restartTimer.Chan()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case ev := <-b.in.buttons:
			b.evaluate(ctx) // the clock may have moved since the last event
			b.onButton(ctx, ev)
		case ev := <-b.in.link:
			if ack, ok := ev.body.(*signalling.EventAck); ok {
				b.onAcks(ctx, ack)
				break
			}
			b.onLink(ctx, ev)
		case <-timerC:
		case <-callDone:
			b.onCallFailed(ctx)
		case <-callConnected:
			b.onConnected(ctx)
		case <-pathC:
			b.onPathChanged(ctx)
		case <-restartC:
			b.onRestartTimer(ctx)
		case <-statsC:
			b.readStats()
		case <-b.netChanges:
			b.onNetworkChanged(ctx)
		case reply := <-b.in.ping:
			close(reply)
			continue
		}
		b.evaluate(ctx)
		b.publish()
	}
}

// recheckEvery bounds how long the booth goes without re-reading the clock and schedule.
const recheckEvery = time.Minute

// onAcks forgets acknowledged events: ack and any others already waiting on the link,
// in one transaction.
func (b *Booth) onAcks(ctx context.Context, ack *signalling.EventAck) {
	acks := []*signalling.EventAck{ack}
	var next *linkEvent
collect:
	for len(acks) < 4*outboxWindow {
		select {
		case ev := <-b.in.link:
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
	b.out.acked(ctx, acks, !b.sched.offline)
	b.sayPresence(ctx)
	if next != nil {
		b.onLink(ctx, *next)
	}
}

func (b *Booth) onLink(ctx context.Context, ev linkEvent) {
	switch ev.kind {
	case linkUp:
		b.sched.offline, b.sched.revoked = false, false
		b.clinic.phone, b.clinic.id = ev.welcome.ClinicPhone, ev.welcome.ClinicID
		b.metrics.linkUp.Set(1)
		b.log.Info("switchboard link up", "device_id", ev.welcome.ID, "clinic", ev.welcome.ClinicName, "outbox", b.out.pending)
		b.out.linkChanged()
		b.sched.presence = b.sched.waiting != ""
		b.out.flush(ctx, true)
		b.sayPresence(ctx)
		b.remoteConnected(ctx)
		b.sendKeptQuality(ctx)
	case linkDown:
		b.sched.offline = true
		b.metrics.linkUp.Set(0)
		b.sched.presence = false
		b.out.linkChanged()
		if b.call != nil && b.cfg.Role == device.RoleClinic {
			b.log.Warn("link lost during a call; ending it", "call", b.call.id)
			b.closeCall("link_lost")
		}
		if b.call != nil {
			// The switchboard ends our calls when our connection drops; the patient is
			// put back in the waiting room when the link returns.
			appt := b.call.apptID
			b.log.Warn("link lost during a call; ending it and waiting again", "call", b.call.id)
			b.closeCall("link_lost")
			b.sched.waiting, b.sched.arrivedAt = appt, b.clock.Now()
		}
	case linkRevoked:
		if !b.sched.revoked {
			b.log.Error("this device has been revoked by IT: showing so until it is reinstated")
		}
		b.sched.revoked, b.sched.offline = true, true
		b.metrics.linkUp.Set(0)
		b.sched.presence = false
		b.out.linkChanged()
		if b.call != nil {
			// The switchboard has ended the call for the clinician: it does not come back.
			b.closeCall("revoked")
		}
		b.sched.waiting = ""
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
	case *signalling.QualityAck:
		if m.Refused != "" {
			b.log.Warn("call quality refused", "call", m.CallID, "why", m.Refused)
		}
		if err := b.store.ForgetQuality(m.CallID); err != nil {
			b.log.Error("forget call quality", "call", m.CallID, "err", err)
		}
	case *signalling.SDP:
		switch {
		case t == signalling.TypeOffer && b.cfg.Role == device.RoleBooth:
			b.onOffer(ctx, m)
		case t == signalling.TypeAnswer && b.cfg.Role == device.RoleClinic:
			b.onAnswer(ctx, m)
		default:
			b.log.Debug("ignored", "type", t)
		}
	case *signalling.Settings:
		b.onSettings(ctx, m)
	case *signalling.Config:
		b.onConfig(ctx, m)
	case *signalling.Queue:
		if b.cfg.Role == device.RoleClinic {
			b.clinic.queue = m
		}
	case *signalling.Candidate:
		if b.call == nil || b.call.id != m.CallID {
			b.log.Debug("candidate for another call; ignored", "call", m.CallID)
			return
		}
		if err := b.call.ac.AddCandidate(*m); err != nil {
			b.link.warn("add remote candidate", "call", m.CallID, "err", err)
		}
	case *signalling.Restart:
		b.onRestart(ctx, m)
	case *signalling.Help:
		b.clinic.help = m.Requested
		b.clinic.helpFrom = ""
		if m.Requested {
			b.clinic.helpFrom = m.AcknowledgedBy
		}
		b.log.Info("help", "requested", m.Requested, "by", m.DeviceName, "coming", m.AcknowledgedBy)
	case *signalling.End:
		if b.call == nil || b.call.id != m.CallID {
			b.log.Debug("end for another call; ignored", "call", m.CallID)
			return
		}
		appt := b.call.apptID
		b.log.Info("call ended by the other side", "call", m.CallID, "reason", m.Reason)
		b.closeCall("remote_" + m.Reason)
		if b.cfg.Role == device.RoleClinic {
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

func (b *Booth) onConnected(ctx context.Context) {
	b.call.connected = nil
	if b.clinic.help {
		// A person is with the patient now: the request is over, and the staff station's
		// alert must not stand on.
		b.clinic.help, b.clinic.helpFrom = false, ""
		if err := b.link.send(ctx, signalling.TypeHelp, &signalling.Help{Requested: false}); err != nil && !errors.Is(err, errOffline) {
			b.log.Warn("send help over", "err", err)
		}
	}
	b.call.connectedAt = b.clock.Now()
	if !b.sched.arrivedAt.IsZero() {
		lat := b.clock.Since(b.sched.arrivedAt)
		b.metrics.joinLatency.Observe(lat.Seconds())
		b.log.Info("call connected", "call", b.call.id, "join_latency", lat)
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
	cc.ticker.Stop()
	cc.stopRestartTimer()
	b.call = nil
	b.run.mu.Lock()
	b.run.active = nil
	b.run.mu.Unlock()
	b.metrics.clearCallGauges()
	b.metrics.calls.WithLabelValues(result).Inc()
	b.log.Info("call closed", "call", cc.id, "result", result)
}
