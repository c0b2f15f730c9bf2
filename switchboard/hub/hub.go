package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/store"
)

const (
	// SendQueueLen bounds the messages waiting for one connection's writer. A client
	// that falls this far behind is disconnected rather than allowed to stall the hub.
	SendQueueLen = 64
	// writeTimeout bounds one message write.
	writeTimeout = 10 * time.Second
	// MaxRefusals is how many refused messages a connection may send before it is
	// closed as broken or hostile.
	MaxRefusals = 20
	// scheduleBefore and scheduleAfter bound the schedule sent to a device.
	scheduleBefore = time.Hour
	scheduleAfter  = 48 * time.Hour
	// scheduleRefresh is how often a connected device is sent its schedule again, so the
	// 48-hour window it caches moves on even when nothing is booked.
	scheduleRefresh = time.Hour
	// defaultPingInterval is Config.PingInterval's default.
	defaultPingInterval = 15 * time.Second
)

var (
	// ErrInCall is returned by CancelAppointment for an appointment in a call.
	ErrInCall = errors.New("appointment is in a call")
	// ErrEnded is returned by CancelAppointment for an appointment that has ended.
	ErrEnded = errors.New("appointment has ended")
	// ErrClosed is returned by Serve once Close has begun; nothing has been written.
	ErrClosed = errors.New("the hub is closed")
)

// Config is the hub's configuration.
type Config struct {
	// DeviceLimits bound what one device can make the hub store, log and fan out; the
	// zero value is DefaultDeviceLimits, a zero field that field's default.
	DeviceLimits DeviceLimits
	// PingInterval is how often a peer is pinged; 0 means 15 seconds. A peer that does
	// not answer within PingInterval is disconnected.
	PingInterval time.Duration
	// ICEServers are handed to both parties of every call.
	ICEServers []signalling.ICEServer
	// AllowedOrigins are the host patterns (path.Match syntax) besides the request's own
	// host whose pages may open a connection; clients that send no Origin are not checked.
	AllowedOrigins []string
}

// Deps are the hub's collaborators.
type Deps struct {
	Store   store.Store     // required
	Clock   clockwork.Clock // nil means the real clock
	Log     *slog.Logger    // nil discards logs
	Metrics *Metrics        // nil registers none (a private registry)
}

// Hub runs waiting rooms and calls over signalling connections. All of its state is
// guarded by mu, and so are the store writes that change appointment status, so that a
// check and the change it allows cannot interleave with another connection's.
type Hub struct {
	cfg     Config
	store   store.Store
	clock   clockwork.Clock
	metrics *Metrics
	log     *slog.Logger
	ctx     context.Context // cancelled by close; parent of every connection's context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // one per connection being served

	mu         sync.Mutex
	closed     bool
	clinicians map[string]map[*client]struct{} // clinic ID -> connections that watch its waiting room (clinicians and clinic devices)
	devices    map[string]map[*client]struct{} // device ID -> connections after hello
	waiting    map[string][]*waiter            // clinic ID -> waiting room, by arrival
	calls      map[string]*call                // call ID -> call
	helpOn     map[string]helpAlert            // device ID -> its help request, while it stands

	throttle  *throttle // paces each device's messages; not guarded by mu
	closeOnce sync.Once
}

// client is one signalling connection.
type client struct {
	p      Identity
	role   signalling.Role
	id     string // clinician or device ID
	clinic string
	name   string // display name shown to the other party of a call
	// clinicRoom is set for a device whose role is "clinic": the clinic-room appliance
	// watches the waiting room and admits, like a clinician.
	clinicRoom bool

	ws     *websocket.Conn
	conn   *signalling.Conn
	out    chan outMsg
	stop   chan struct{} // closed when the reader has finished: drain out and exit
	cancel context.CancelFunc
	log    *slog.Logger
	// sampled keeps repeated warnings about what this connection sends out of the log.
	sampled *logSampler

	// Snapshots (the waiting room, a schedule, a help alert) that did not fit in out wait
	// here, newest per kind, and go out once out is empty: a reader that falls behind on
	// them gets the latest state late rather than being disconnected.
	ovMu     sync.Mutex
	overflow map[string]outMsg
	ovKick   chan struct{} // cap 1: there is overflow to send

	// guarded by hub.mu
	hello   bool
	calls   map[string]*call
	schedAt time.Time // when the last schedule was sent
}

type outMsg struct {
	t    signalling.Type
	body any
}

// waiter is a patient in a waiting room.
type waiter struct {
	appt  store.Appointment
	c     *client
	since time.Time
	call  *call // set while admitted
}

// call is one admitted consultation between a clinician (the offerer) and a device.
type call struct {
	id       string
	appt     string
	clinic   string
	offerer  *client
	answerer *client
	offered  bool // an offer has been relayed
	answered bool // the latest offer has been answered
	setupSet bool // call_setup_seconds observed
	admitted time.Time
}

// New builds a hub from cfg and deps.
func New(cfg Config, deps Deps) (*Hub, error) {
	if deps.Store == nil {
		return nil, errors.New("hub: Deps.Store is required")
	}
	if deps.Clock == nil {
		deps.Clock = clockwork.NewRealClock()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		deps.Metrics = m
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = defaultPingInterval
	}
	cfg.DeviceLimits = cfg.DeviceLimits.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		cfg:        cfg,
		store:      deps.Store,
		clock:      deps.Clock,
		metrics:    deps.Metrics,
		log:        deps.Log.With("component", "switchboard/hub"),
		ctx:        ctx,
		cancel:     cancel,
		clinicians: map[string]map[*client]struct{}{},
		devices:    map[string]map[*client]struct{}{},
		waiting:    map[string][]*waiter{},
		calls:      map[string]*call{},
		helpOn:     map[string]helpAlert{},
		throttle:   newThrottle(cfg.DeviceLimits, deps.Clock),
	}, nil
}

// Close disconnects every connection and waits for their goroutines; Serve refuses new
// ones with ErrClosed. It does not close the store. It is safe to call more than once.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		h.cancel()
		h.wg.Wait()
	})
}

// Serve registers an authenticated request with peer.Open, upgrades it and runs the
// connection until it ends. When the hub is closed it returns ErrClosed before anything
// is written, for the caller to answer; otherwise it returns nil once the connection has
// ended, the response written (by Open or the upgrade when they refused).
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, peer Peer) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	lease, ok := peer.Open()
	if !ok {
		return nil // Open has written the response
	}
	defer lease.Release()

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.AllowedOrigins})
	if err != nil {
		h.log.Info("websocket upgrade refused", "err", err)
		return nil // Accept has written the response
	}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	c := &client{
		p:        peer.Identity,
		ws:       ws,
		conn:     signalling.NewConn(ws),
		out:      make(chan outMsg, SendQueueLen),
		stop:     make(chan struct{}),
		cancel:   cancel,
		calls:    map[string]*call{},
		sampled:  newLogSampler(h.clock, time.Minute, 5),
		overflow: map[string]outMsg{},
		ovKick:   make(chan struct{}, 1),
	}
	if d := peer.Identity.Device; d != nil {
		c.role, c.id, c.clinic, c.name = signalling.RoleDevice, d.ID, d.ClinicID, d.Name
		c.clinicRoom = d.Role == store.RoleClinic
	} else {
		cl := peer.Identity.Clinician
		c.role, c.id, c.clinic, c.name = signalling.RoleClinician, cl.ID, cl.ClinicID, cl.Name
	}
	c.log = h.log.With("role", c.role, "id", c.id, "addr", peer.Addr)
	c.log.Debug("connected")

	// pingCtx stops the pinger as soon as the reader is done: a ping in flight then
	// cannot get its pong and must not hold up the close.
	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); h.writeLoop(ctx, c) }()
	go func() { defer wg.Done(); h.pingLoop(pingCtx, c) }()
	go func() { defer wg.Done(); closeOnKick(pingCtx, lease, ws, cancel, c.log) }()

	status, reason := h.readLoop(ctx, c)
	stopPing()
	h.drop(c)
	close(c.stop)
	wg.Wait()
	ws.Close(status, reason) //nolint:errcheck // the peer may be gone already
	c.log.Debug("disconnected", "reason", reason)
	return nil
}

func (h *Hub) readLoop(ctx context.Context, c *client) (websocket.StatusCode, string) {
	refusals := 0
	for {
		env, body, err := c.conn.Recv(ctx)
		if err == nil && c.role == signalling.RoleDevice {
			// Paced before anything is stored or fanned out; the wait holds up only this
			// device's own connection.
			waited, werr := h.throttle.wait(ctx, c.id, env.Type)
			if werr != nil {
				return websocket.StatusGoingAway, "switchboard closing"
			}
			if waited {
				h.metrics.deviceThrottled.WithLabelValues(string(env.Type)).Inc()
			}
		}
		if err == nil {
			err = h.handle(c, env, body)
			if err == nil {
				continue
			}
		} else if !errors.Is(err, signalling.ErrProtocol) {
			if ctx.Err() != nil {
				return websocket.StatusGoingAway, "switchboard closing"
			}
			return websocket.StatusNormalClosure, "connection ended"
		}
		var pe *signalling.ProtocolError
		if !errors.As(err, &pe) {
			c.log.Error("handling message", "type", env.Type, "err", err)
			pe = &signalling.ProtocolError{Code: signalling.CodeInternal, Seq: env.Seq, Msg: "internal error"}
		}
		h.metrics.sigErrors.WithLabelValues(pe.Code).Inc()
		c.send(signalling.TypeError, &signalling.Error{Code: pe.Code, Message: pe.Msg, Ref: pe.Seq})
		refusals++
		if refusals > MaxRefusals {
			c.log.Warn("closing after too many refused messages", "refused", refusals)
			return websocket.StatusPolicyViolation, "too many refused messages"
		}
	}
}

func (h *Hub) writeLoop(ctx context.Context, c *client) {
	write := func(m outMsg) bool {
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		defer cancel()
		if err := c.conn.Send(wctx, m.t, m.body); err != nil {
			c.log.Debug("write", "type", m.t, "err", err)
			c.cancel()
			return false
		}
		return true
	}
	// flush sends the overflow once out is empty: every snapshot in out is older than the
	// overflow's of the same kind.
	flush := func() bool {
		if len(c.out) > 0 {
			return true
		}
		for _, m := range c.takeOverflow() {
			if !write(m) {
				return false
			}
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-c.out:
			if !write(m) || !flush() {
				return
			}
		case <-c.ovKick:
			if !flush() {
				return
			}
		case <-c.stop:
			for {
				select {
				case m := <-c.out:
					if !write(m) {
						return
					}
				default:
					flush()
					return
				}
			}
		}
	}
}

// pingLoop pings the peer every PingInterval and disconnects it if no pong comes back
// within the next interval, so a booth that lost power is noticed in under 30 s.
func (h *Hub) pingLoop(ctx context.Context, c *client) {
	t := h.clock.NewTicker(h.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
			if c.role == signalling.RoleDevice {
				h.refreshSchedule(c)
			}
			pctx, cancel := context.WithTimeout(ctx, h.cfg.PingInterval)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					c.log.Info("peer did not answer ping, disconnecting", "err", err)
				}
				c.cancel()
				return
			}
		}
	}
}

// send queues a message for c without blocking. Must hold h.mu, or be the reader.
//
// A snapshot (see snapshotKind) never disconnects c: when out is full it waits in the
// overflow, replacing an older one of its kind. Anything else that does not fit means c
// has stopped reading, and it is disconnected.
func (c *client) send(t signalling.Type, body any) {
	m := outMsg{t, body}
	kind := snapshotKind(t, body)
	if kind != "" {
		c.ovMu.Lock()
		defer c.ovMu.Unlock()
		if _, ok := c.overflow[kind]; ok {
			c.overflow[kind] = m // keep the order: out must not overtake an older snapshot
			return
		}
	}
	select {
	case c.out <- m:
		return
	default:
	}
	if kind == "" {
		c.log.Warn("send queue full, disconnecting slow client", "type", t)
		c.cancel()
		return
	}
	if len(c.overflow) == 0 {
		c.log.Info("send queue full, keeping the latest state to send", "type", t)
	}
	c.overflow[kind] = m
	select {
	case c.ovKick <- struct{}{}:
	default:
	}
}

// takeOverflow empties and returns c's overflow.
func (c *client) takeOverflow() []outMsg {
	c.ovMu.Lock()
	defer c.ovMu.Unlock()
	ms := make([]outMsg, 0, len(c.overflow))
	for k, m := range c.overflow {
		ms = append(ms, m)
		delete(c.overflow, k)
	}
	return ms
}

// snapshotKind names what a message is the whole current state of (only the latest of a
// kind matters), or "" when it is not one.
func snapshotKind(t signalling.Type, body any) string {
	switch t {
	case signalling.TypeQueue, signalling.TypeSchedule:
		return string(t)
	case signalling.TypeHelp:
		if m, ok := body.(*signalling.Help); ok && m.DeviceID != "" {
			return string(t) + "/" + m.DeviceID
		}
	}
	return ""
}

func refuse(code string, seq uint64, format string, args ...any) error {
	return &signalling.ProtocolError{Code: code, Seq: seq, Msg: fmt.Sprintf(format, args...)}
}

// handle acts on one well-formed message. A returned error is a *ProtocolError for the
// sender (or an internal error); nothing has changed when it is returned.
func (h *Hub) handle(c *client, env signalling.Envelope, body any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	seq := env.Seq
	if !c.hello {
		m, ok := body.(*signalling.Hello)
		if !ok {
			return refuse(signalling.CodeOutOfOrder, seq, "%s before hello: send hello first", env.Type)
		}
		return h.hello(c, seq, m)
	}
	switch m := body.(type) {
	case *signalling.Hello:
		return refuse(signalling.CodeOutOfOrder, seq, "hello was already sent on this connection")
	case *signalling.Arrive:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices send arrive")
		}
		return h.arrive(c, seq, m.AppointmentID)
	case *signalling.Leave:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices send leave")
		}
		return h.leave(c, seq, m.AppointmentID)
	case *signalling.Admit:
		if c.role != signalling.RoleClinician && !c.clinicRoom {
			return refuse(signalling.CodeForbidden, seq, "only clinicians and clinic-room devices send admit")
		}
		return h.admit(c, seq, m.AppointmentID)
	case *signalling.Event:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices send event")
		}
		return h.deviceEvent(c, m)
	case *signalling.SettingsAck:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices send settings_ack")
		}
		if err := h.store.AckPushes(c.id, m.Seq); err != nil {
			return err
		}
		c.log.Info("settings acknowledged", "seq", m.Seq)
		return nil
	case *signalling.Help:
		if c.role != signalling.RoleDevice || c.clinicRoom {
			return refuse(signalling.CodeForbidden, seq, "only booths ask for help")
		}
		return h.help(c, seq, m)
	case *signalling.Quality:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices report call quality")
		}
		return h.quality(c, seq, m)
	case *signalling.Outcome:
		if c.role != signalling.RoleClinician {
			return refuse(signalling.CodeForbidden, seq, "only clinicians record an outcome")
		}
		_, err := h.recordOutcomeLocked(c.p, m.AppointmentID, m.Outcome)
		return outcomeRefusal(seq, m.AppointmentID, err)
	case *signalling.SDP:
		return h.relaySDP(c, seq, env.Type, m)
	case *signalling.Candidate:
		cl, err := h.callOf(c, seq, m.CallID)
		if err != nil {
			return err
		}
		if !cl.offered {
			return refuse(signalling.CodeOutOfOrder, seq, "candidate before the offer")
		}
		cl.other(c).send(signalling.TypeCandidate, m)
		return nil
	case *signalling.End:
		cl, err := h.callOf(c, seq, m.CallID)
		if err != nil {
			return err
		}
		return h.endCall(cl, c, m.Reason, false)
	}
	return refuse(signalling.CodeBadMessage, seq, "%s is sent by the switchboard, not to it", env.Type)
}

func (h *Hub) hello(c *client, seq uint64, m *signalling.Hello) error {
	if m.Role != c.role {
		return refuse(signalling.CodeForbidden, seq, "these credentials are a %s's, not a %s's", c.role, m.Role)
	}
	w := &signalling.Welcome{Role: c.role, ID: c.id, ClinicID: c.clinic, ServerTime: h.clock.Now().UTC()}
	if c.clinic != "" {
		if cl, err := h.store.Clinic(c.clinic); err == nil {
			w.ClinicName, w.ClinicPhone = cl.Name, cl.Phone
		}
	}
	c.hello = true
	h.metrics.connections.WithLabelValues(string(c.role)).Inc()
	c.send(signalling.TypeWelcome, w)
	if c.role == signalling.RoleDevice {
		addConn(h.devices, c.id, c)
		h.store.TouchDevice(c.id, h.clock.Now()) //nolint:errcheck // last-seen is advisory
		h.sendSchedule(c)
		h.sendPushes(c)
		if c.clinicRoom {
			addConn(h.clinicians, c.clinic, c)
			c.send(signalling.TypeQueue, h.queueLocked(c.clinic))
		}
	} else {
		addConn(h.clinicians, c.clinic, c)
		c.send(signalling.TypeQueue, h.queueLocked(c.clinic))
	}
	if c.role == signalling.RoleClinician || c.clinicRoom {
		for _, alert := range h.helpOn { // help asked for before this clinician came
			if alert.clinic == c.clinic {
				c.send(signalling.TypeHelp, alert.msg)
			}
		}
	}
	c.log.Info("hello", "agent", m.Agent)
	return nil
}

func addConn(m map[string]map[*client]struct{}, key string, c *client) {
	if m[key] == nil {
		m[key] = map[*client]struct{}{}
	}
	m[key][c] = struct{}{}
}

// appointmentFor loads an appointment for a signalling request, mapping store errors.
func (h *Hub) appointment(seq uint64, id string) (store.Appointment, error) {
	a, err := h.store.Appointment(id)
	if errors.Is(err, store.ErrNotFound) {
		return a, refuse(signalling.CodeUnknownAppointment, seq, "no appointment %q", id)
	}
	return a, err
}

func (h *Hub) findWaiter(clinic, appt string) (int, *waiter) {
	for i, w := range h.waiting[clinic] {
		if w.appt.ID == appt {
			return i, w
		}
	}
	return -1, nil
}

// actorOf is the life-cycle actor for a connection.
func actorOf(c *client) appointment.Actor {
	if c.role == signalling.RoleDevice {
		return appointment.Actor{Kind: appointment.ActorDevice, ID: c.id}
	}
	return appointment.Actor{Kind: appointment.ActorClinician, ID: c.id}
}

// now returns an EventInput for ev by actor, happening now.
func (h *Hub) event(ev appointment.Event, actor appointment.Actor) store.EventInput {
	now := h.clock.Now()
	return store.EventInput{Event: ev, Actor: actor, At: now, Received: now}
}

// staleReset returns the events that bring an appointment whose stored status says a
// patient is present (waiting or in a call) back to scheduled when the hub has no such
// patient: after a switchboard restart the store still says so, but the booth is gone.
// Must hold h.mu.
func (h *Hub) staleReset(a store.Appointment) []store.EventInput {
	if a.Status != store.StatusWaiting && a.Status != store.StatusInCall {
		return nil
	}
	if _, w := h.findWaiter(a.ClinicID, a.ID); w != nil {
		return nil
	}
	return []store.EventInput{h.event(appointment.DeviceLost, appointment.System)}
}

// arriveChain returns the events that put a patient in the waiting room from a's status:
// a stale reset if needed, the window opening (the system notices: the booth is here),
// then arrive itself. Must hold h.mu.
func (h *Hub) arriveChain(a store.Appointment, arrive store.EventInput) []store.EventInput {
	chain := h.staleReset(a)
	status := a.Status
	if len(chain) > 0 {
		status = store.StatusScheduled
	}
	if status == store.StatusScheduled {
		chain = append(chain, h.event(appointment.OpenWindow, appointment.System))
	}
	return append(chain, arrive)
}

func (h *Hub) arrive(c *client, seq uint64, id string) error {
	a, err := h.appointment(seq, id)
	if err != nil {
		return err
	}
	if a.DeviceID != c.id {
		return refuse(signalling.CodeForbidden, seq, "appointment %s is not this device's", id)
	}
	if appointment.Status(a.Status).Final() {
		return refuse(signalling.CodeUnknownAppointment, seq, "appointment %s is %s", id, a.Status)
	}
	if err := outsideJoinWindow(a, h.clock.Now()); err != "" {
		return refuse(signalling.CodeConflict, seq, "%s", err)
	}
	if _, w := h.findWaiter(a.ClinicID, a.ID); w != nil {
		if w.call != nil {
			return refuse(signalling.CodeConflict, seq, "appointment %s is already in a call", id)
		}
		if w.c != c { // the booth reconnected: the new connection takes the place
			w.c = c
			h.pushQueue(a.ClinicID)
		}
		return nil
	}
	a, _, err = h.store.Apply(a.ID, h.arriveChain(a, h.event(appointment.Arrive, actorOf(c)))...)
	if errors.Is(err, appointment.ErrIllegal) {
		return refuse(signalling.CodeConflict, seq, "appointment %s: %v", id, err)
	}
	if err != nil {
		return err
	}
	h.addWaiter(c, a, h.clock.Now())
	h.pushSchedule(a.DeviceID)
	return nil
}

// addWaiter puts c in a's clinic's waiting room, keeping it ordered by arrival. Must
// hold h.mu.
func (h *Hub) addWaiter(c *client, a store.Appointment, since time.Time) {
	room := h.waiting[a.ClinicID]
	i := len(room)
	for i > 0 && room[i-1].since.After(since) {
		i--
	}
	h.waiting[a.ClinicID] = append(room[:i:i], append([]*waiter{{appt: a, c: c, since: since}}, room[i:]...)...)
	c.log.Info("patient arrived", "appointment", a.ID)
	h.pushQueue(a.ClinicID)
}

func (h *Hub) leave(c *client, seq uint64, id string) error {
	i, w := h.findWaiter(c.clinic, id)
	if w == nil || w.c.id != c.id {
		return refuse(signalling.CodeUnknownAppointment, seq, "appointment %s is not in the waiting room", id)
	}
	if w.call != nil {
		return refuse(signalling.CodeConflict, seq, "appointment %s is in a call: send end instead", id)
	}
	if _, _, err := h.store.Apply(id, h.event(appointment.Leave, actorOf(c))); err != nil {
		return err
	}
	h.removeWaiter(c.clinic, i)
	h.pushQueue(c.clinic)
	h.pushSchedule(c.id)
	return nil
}

func (h *Hub) removeWaiter(clinic string, i int) {
	room := h.waiting[clinic]
	h.waiting[clinic] = append(room[:i:i], room[i+1:]...)
	if len(h.waiting[clinic]) == 0 {
		delete(h.waiting, clinic)
	}
}

func (h *Hub) admit(c *client, seq uint64, id string) error {
	a, err := h.appointment(seq, id)
	if err != nil {
		return err
	}
	if a.ClinicID != c.clinic {
		return refuse(signalling.CodeForbidden, seq, "appointment %s is another clinic's", id)
	}
	_, w := h.findWaiter(a.ClinicID, a.ID)
	if w == nil {
		return refuse(signalling.CodeConflict, seq, "the patient of appointment %s is not in the waiting room", id)
	}
	if w.call != nil {
		return refuse(signalling.CodeConflict, seq, "appointment %s has already been admitted", id)
	}
	admit := h.event(appointment.Admit, actorOf(c))
	admit.CallID = store.NewID()
	if _, _, err := h.store.Apply(a.ID, admit); err != nil {
		if errors.Is(err, appointment.ErrIllegal) {
			return refuse(signalling.CodeConflict, seq, "appointment %s: %v", id, err)
		}
		return err
	}
	now := h.clock.Now()
	cl := &call{id: admit.CallID, appt: a.ID, clinic: a.ClinicID, offerer: c, answerer: w.c, admitted: now}
	w.call = cl
	h.calls[cl.id] = cl
	c.calls[cl.id] = cl
	w.c.calls[cl.id] = cl
	h.metrics.callsStarted.Inc()
	h.metrics.callsActive.Inc()
	h.metrics.waitSeconds.Observe(now.Sub(w.since).Seconds())
	ice := h.cfg.ICEServers
	c.send(signalling.TypeCall, &signalling.Call{CallID: cl.id, AppointmentID: a.ID, Role: signalling.CallOfferer, Peer: a.Patient, ICEServers: ice})
	w.c.send(signalling.TypeCall, &signalling.Call{CallID: cl.id, AppointmentID: a.ID, Role: signalling.CallAnswerer, Peer: c.name, ICEServers: ice})
	c.log.Info("call started", "call", cl.id, "appointment", a.ID)
	h.pushQueue(a.ClinicID)
	h.pushSchedule(a.DeviceID)
	return nil
}

func (cl *call) other(c *client) *client {
	if c == cl.offerer {
		return cl.answerer
	}
	return cl.offerer
}

// callOf finds a call that c is a party of.
func (h *Hub) callOf(c *client, seq uint64, id string) (*call, error) {
	cl := c.calls[id]
	if cl == nil {
		return nil, refuse(signalling.CodeNotInCall, seq, "this connection is not in call %s", id)
	}
	return cl, nil
}

func (h *Hub) relaySDP(c *client, seq uint64, t signalling.Type, m *signalling.SDP) error {
	cl, err := h.callOf(c, seq, m.CallID)
	if err != nil {
		return err
	}
	switch t {
	case signalling.TypeOffer:
		if c != cl.offerer {
			return refuse(signalling.CodeOutOfOrder, seq, "only the offerer (the clinician) sends offers")
		}
		if cl.offered && !cl.answered {
			return refuse(signalling.CodeOutOfOrder, seq, "the previous offer has not been answered")
		}
		cl.offered, cl.answered = true, false
	case signalling.TypeAnswer:
		if c != cl.answerer {
			return refuse(signalling.CodeOutOfOrder, seq, "only the answerer (the booth) sends answers")
		}
		if !cl.offered || cl.answered {
			return refuse(signalling.CodeOutOfOrder, seq, "there is no offer to answer")
		}
		cl.answered = true
		if !cl.setupSet {
			cl.setupSet = true
			h.metrics.answerSeconds.Observe(h.clock.Since(cl.admitted).Seconds())
		}
	}
	cl.other(c).send(t, m)
	return nil
}

// endCall ends cl on behalf of from, telling the other party. Only a person ends an
// appointment (a hangup, or a call that failed while both stayed connected). A lost
// connection does not: when the clinician's goes, the patient goes back to the waiting room
// so the clinician can admit them again after reloading; when the booth's goes (Wi-Fi, a
// power cut), the appointment goes back to scheduled so the booth can rejoin when it is back.
//
// A call whose media failed while both parties stayed connected is not a consultation
// either: the patient waits again. This also settles the race of a clinician's page
// reload, whose media dies before the switchboard sees its connection go.
func (h *Hub) endCall(cl *call, from *client, reason string, lost bool) error {
	ev := h.event(appointment.End, actorOf(from))
	backToWaiting := lost && from == cl.offerer
	switch {
	case backToWaiting:
		ev = h.event(appointment.ClinicianLost, appointment.System)
	case lost:
		ev = h.event(appointment.DeviceLost, appointment.System)
	case reason == signalling.EndFailed:
		ev = h.event(appointment.CallFailed, actorOf(from))
		backToWaiting = true
	}
	if _, _, err := h.store.Apply(cl.appt, ev); err != nil {
		// The call is over whatever the store says; a status that no longer allows this
		// (say, moved to the telephone meanwhile) stays as it is.
		from.log.Warn("recording the end of a call", "call", cl.id, "appointment", cl.appt, "err", err)
	}
	h.forgetCall(cl, from, reason, backToWaiting)
	return nil
}

// forgetCall takes an ended call out of the hub and tells the other party. Must hold h.mu.
func (h *Hub) forgetCall(cl *call, from *client, reason string, backToWaiting bool) {
	delete(h.calls, cl.id)
	delete(cl.offerer.calls, cl.id)
	delete(cl.answerer.calls, cl.id)
	h.metrics.callsEnded.WithLabelValues(reason).Inc()
	h.metrics.callsActive.Dec()
	if i, w := h.findWaiter(cl.clinic, cl.appt); w != nil {
		if backToWaiting {
			w.call = nil
		} else {
			h.removeWaiter(cl.clinic, i)
		}
	}
	// Tell the other party only once every effect is in place, so that whatever it does
	// next (or a test reading metrics) sees them.
	cl.other(from).send(signalling.TypeEnd, &signalling.End{CallID: cl.id, Reason: reason})
	from.log.Info("call ended", "call", cl.id, "reason", reason)
	h.pushQueue(cl.clinic)
	h.pushSchedule(cl.answerer.id)
}

// drop forgets a connection that has gone: its calls end with peer_lost and a device's
// patients leave the waiting room.
func (h *Hub) drop(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !c.hello {
		return
	}
	for _, cl := range c.calls {
		if err := h.endCall(cl, c, signalling.EndPeerLost, true); err != nil {
			c.log.Error("ending call of lost connection", "call", cl.id, "err", err)
		}
	}
	if c.role == signalling.RoleDevice {
		delete(h.devices[c.id], c)
		if len(h.devices[c.id]) == 0 {
			delete(h.devices, c.id)
		}
		changed := false
		for i := len(h.waiting[c.clinic]) - 1; i >= 0; i-- {
			w := h.waiting[c.clinic][i]
			if w.c != c {
				continue
			}
			if _, _, err := h.store.Apply(w.appt.ID, h.event(appointment.DeviceLost, appointment.System)); err != nil {
				c.log.Error("resetting appointment of lost device", "appointment", w.appt.ID, "err", err)
			}
			h.removeWaiter(c.clinic, i)
			changed = true
		}
		if changed {
			h.pushQueue(c.clinic)
		}
	}
	if c.role == signalling.RoleClinician || c.clinicRoom {
		delete(h.clinicians[c.clinic], c)
		if len(h.clinicians[c.clinic]) == 0 {
			delete(h.clinicians, c.clinic)
		}
	}
	h.metrics.connections.WithLabelValues(string(c.role)).Dec()
}

// queueLocked builds a clinic's waiting room. Must hold h.mu.
func (h *Hub) queueLocked(clinic string) *signalling.Queue {
	q := &signalling.Queue{ClinicID: clinic, Entries: []signalling.QueueEntry{}}
	for _, w := range h.waiting[clinic] {
		q.Entries = append(q.Entries, signalling.QueueEntry{
			AppointmentID: w.appt.ID, DeviceID: w.appt.DeviceID, Patient: w.appt.Patient,
			Start: w.appt.Start, Since: w.since.UTC(), InCall: w.call != nil,
		})
	}
	return q
}

// pushQueue sends a clinic's waiting room to its clinicians. Must hold h.mu.
func (h *Hub) pushQueue(clinic string) {
	q := h.queueLocked(clinic)
	h.metrics.waitingRoom.WithLabelValues(clinic).Set(float64(len(q.Entries)))
	for c := range h.clinicians[clinic] {
		c.send(signalling.TypeQueue, q)
	}
}

// pushSchedule sends a device's schedule to its connections. Must hold h.mu.
func (h *Hub) pushSchedule(deviceID string) {
	for c := range h.devices[deviceID] {
		h.sendSchedule(c)
	}
}

func (h *Hub) sendSchedule(c *client) {
	now := h.clock.Now()
	as, err := h.store.AppointmentsByDevice(c.id, now.Add(-scheduleBefore), now.Add(scheduleAfter))
	if err != nil {
		c.log.Error("loading schedule", "err", err)
		return
	}
	clinics := map[string]store.Clinic{}
	sch := &signalling.Schedule{Appointments: []signalling.Appointment{}}
	for _, a := range as {
		if _, ok := clinics[a.ClinicID]; !ok {
			if cl, err := h.store.Clinic(a.ClinicID); err == nil {
				clinics[a.ClinicID] = cl
			}
		}
		cl := clinics[a.ClinicID]
		sch.Appointments = append(sch.Appointments, signalling.Appointment{
			ID: a.ID, ClinicID: a.ClinicID, ClinicName: cl.Name, ClinicPhone: cl.Phone, DeviceID: a.DeviceID,
			Patient: a.Patient, Start: a.Start, End: a.End, Status: a.Status,
		})
	}
	c.send(signalling.TypeSchedule, sch)
	c.schedAt = now
}

// quality keeps a booth's measure of a call it had for one of its appointments, for the
// commissioners' report. Must hold h.mu.
func (h *Hub) quality(c *client, seq uint64, m *signalling.Quality) error {
	a, err := h.store.Appointment(m.AppointmentID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(signalling.CodeUnknownAppointment, seq, "no appointment %s", m.AppointmentID)
	}
	if err != nil {
		return err
	}
	if a.DeviceID != c.id {
		return refuse(signalling.CodeForbidden, seq, "appointment %s is not this device's", m.AppointmentID)
	}
	if a.Quality.Has(m.CallID) {
		return refuse(signalling.CodeConflict, seq, "the figures of call %s are already kept: a call is reported once", m.CallID)
	}
	lasted, err := h.callLasted(a.ID, m.CallID)
	if err != nil {
		return err
	}
	if lasted < 0 {
		return refuse(signalling.CodeNotInCall, seq, "appointment %s had no call %s", a.ID, m.CallID)
	}
	if limit := lasted + qualitySlack; time.Duration(m.Seconds*float64(time.Second)) > limit {
		return refuse(signalling.CodeBadMessage, seq, "seconds %.0f is longer than call %s lasted (%.0f s)", m.Seconds, m.CallID, lasted.Seconds())
	}
	_, err = h.store.UpdateAppointment(a.ID, func(a *store.Appointment) error {
		if a.Quality.Has(m.CallID) {
			return nil
		}
		a.Quality = a.Quality.With(m.CallID, m.BitrateKbps, m.PacketLossPct, m.RTTMs, m.Seconds)
		return nil
	})
	if err != nil {
		return err
	}
	c.log.Info("call quality", "appointment", a.ID, "call", m.CallID, "bitrate_kbps", m.BitrateKbps, "packet_loss_pct", m.PacketLossPct)
	return nil
}

// qualitySlack is how much longer than the switchboard saw a call last a booth may say
// its media flowed (the two clocks start the call a round trip apart).
const qualitySlack = 10 * time.Second

// callLasted returns how long call id of appointment apptID has lasted by the
// switchboard's records: from its admit to the event that ended it, or to now while it is
// live. It is negative when the appointment's history has no such call. Must hold h.mu.
func (h *Hub) callLasted(apptID, id string) (time.Duration, error) {
	recs, err := h.store.History(apptID)
	if err != nil {
		return 0, err
	}
	for i, r := range recs {
		if r.Event != appointment.Admit || r.CallID != id || r.Refused != "" {
			continue
		}
		admitted := r.Received
		for _, after := range recs[i+1:] {
			if after.Refused == "" && after.From == appointment.InCall && after.To != appointment.InCall {
				return after.Received.Sub(admitted), nil
			}
		}
		return h.clock.Since(admitted), nil
	}
	return -1, nil
}

// helpAlert is a help request that stands, as the clinic's clinicians were told of it.
type helpAlert struct {
	clinic string
	msg    *signalling.Help
}

// help passes a booth's Help button on to its clinic's connected clinicians (and clinic-room
// appliances), then echoes it to the booth: the echo is the booth's proof that someone was
// told, so it never says "help is on its way" when nobody was. Must hold h.mu.
func (h *Hub) help(c *client, seq uint64, m *signalling.Help) error {
	d, err := h.store.Device(c.id)
	if err != nil {
		return err
	}
	alert := &signalling.Help{Requested: m.Requested, DeviceID: d.ID, DeviceName: d.Name}
	told := len(h.clinicians[c.clinic])
	if m.Requested && told == 0 {
		return refuse(signalling.CodeConflict, seq, "nobody at the clinic is connected to be told")
	}
	_, standing := h.helpOn[c.id]
	if standing == m.Requested {
		// Pressed again (or cancelled again): the clinicians already know, and hear of it
		// once. The booth still gets its proof that they were told.
		c.send(signalling.TypeHelp, alert)
		if ok, n := c.sampled.allow("help repeated"); ok {
			c.log.Info("help repeated, not passed on", "requested", m.Requested, "suppressed", n)
		}
		return nil
	}
	if m.Requested {
		h.helpOn[c.id] = helpAlert{clinic: c.clinic, msg: alert}
	} else {
		delete(h.helpOn, c.id)
	}
	for cl := range h.clinicians[c.clinic] {
		cl.send(signalling.TypeHelp, alert)
	}
	c.send(signalling.TypeHelp, alert)
	c.log.Info("help", "requested", m.Requested, "told", told)
	return nil
}
