package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/audit"
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
	// revokeWait bounds how long Revoke waits for a revoked device's connections to close.
	revokeWait = 2 * time.Second
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
	// Relay, if set, gives each party of each call a TURN server with credentials of its
	// own that expire (switchboard/turnrelay), after ICEServers.
	Relay func(party string) (signalling.ICEServer, error)
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
	// Audit is told of each admit and end of a call, for the switchboard's audit log;
	// nil records nothing. Called with the hub's lock held: it must not call the hub.
	Audit func(audit.Entry)
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
	audit   func(audit.Entry)
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
	staff      map[string]map[*client]struct{} // clinic ID ("" for fleet admins) -> staff station connections
	health     map[string]Health               // device ID -> its latest heartbeat

	diag diagnoses // IT's self-test and log requests in flight; its own lock

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
	addr   string // the client's address, for the audit log
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
	gone     chan struct{} // closed when Serve returns

	// guarded by hub.mu
	hello   bool
	since   time.Time // when hello came
	calls   map[string]*call
	schedAt time.Time // when the last schedule was sent
	staff   bool      // a clinician's staff station: sent the site's devices
	devSent *signalling.Devices
}

type outMsg struct {
	t    signalling.Type
	body any
	// closeWith, when set, makes the writer close the connection with it as the close
	// frame's reason instead of writing a message: everything queued before is sent first.
	closeWith string
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
	// restartAt is when the answerer's ICE restart request was relayed; zero once the
	// offer it asked for has been answered. One restart is in flight at a time.
	restartAt time.Time
	admitted  time.Time
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
	if deps.Audit == nil {
		deps.Audit = func(audit.Entry) {}
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
		audit:      deps.Audit,
		log:        deps.Log.With("component", "switchboard/hub"),
		ctx:        ctx,
		cancel:     cancel,
		clinicians: map[string]map[*client]struct{}{},
		devices:    map[string]map[*client]struct{}{},
		waiting:    map[string][]*waiter{},
		calls:      map[string]*call{},
		helpOn:     map[string]helpAlert{},
		staff:      map[string]map[*client]struct{}{},
		health:     map[string]Health{},
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
	case *signalling.ConfigAck:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices send config_ack")
		}
		return h.configAck(c, m)
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
	case *signalling.Heartbeat:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices send heartbeat")
		}
		h.heartbeat(c, m)
		return nil
	case *signalling.Diagnosis:
		if c.role != signalling.RoleDevice {
			return refuse(signalling.CodeForbidden, seq, "only devices send diagnosis")
		}
		return h.diagnosis(c, seq, m)
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
	case *signalling.Restart:
		return h.relayRestart(c, seq, m)
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
	c.hello, c.since = true, h.clock.Now()
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
		if m.Staff {
			view, err := h.devicesLocked(c.clinic)
			if err != nil {
				return err
			}
			c.staff = true
			addConn(h.staff, c.clinic, c)
			h.sendDevices(c, view)
		}
	}
	if c.role == signalling.RoleClinician || c.clinicRoom {
		for _, alert := range h.helpOn { // help asked for before this clinician came
			if alert.clinic == c.clinic {
				c.send(signalling.TypeHelp, alert.msg)
			}
		}
	}
	if c.role == signalling.RoleDevice {
		h.pushDevices(c.clinic)
	}
	c.log.Info("hello", "agent", m.Agent, "staff", m.Staff)
	return nil
}

func addConn(m map[string]map[*client]struct{}, key string, c *client) {
	if m[key] == nil {
		m[key] = map[*client]struct{}{}
	}
	m[key][c] = struct{}{}
}
