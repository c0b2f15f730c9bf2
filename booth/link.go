package booth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"
)

// errOffline is returned when a message cannot be sent because the link is down.
var errOffline = errors.New("switchboard link is down")

// errRevoked ends a session when the switchboard says this device has been revoked.
var errRevoked = errors.New("this device has been revoked by IT")

// revokedRetry is how long a revoked device waits before it asks again (jittered to
// between half and all of it): rarely, in case IT reinstates it, never in a storm.
const revokedRetry = 5 * time.Minute

type linkEventKind int

const (
	linkUp linkEventKind = iota
	linkDown
	linkMessage
	// linkRevoked: the switchboard refused this device as revoked (when dialling, or as
	// its last message before closing). The link is down too.
	linkRevoked
)

// linkEvent is what the link hands to the booth's loop.
type linkEvent struct {
	kind    linkEventKind
	welcome *signalling.Welcome // linkUp
	err     error               // linkDown
	typ     signalling.Type     // linkMessage
	body    any                 // linkMessage: *signalling.Schedule, *signalling.Call, *signalling.EventAck, ...
}

// Timeouts of the link, in real time: they guard the network, not the schedule.
const (
	dialTimeout    = 15 * time.Second
	welcomeTimeout = 15 * time.Second
	sendTimeout    = 5 * time.Second
)

// link keeps the booth's signalling WebSocket to the switchboard up: it dials, says hello,
// forwards what it receives to the loop, and redials with capped exponential backoff and
// jitter when the connection drops. Sending is done by whoever holds a message (the loop,
// a call's candidate callback) through send, which is safe from any goroutine.
type link struct {
	url        string // owned by run's goroutine once it runs
	rediscover func() string
	token      string
	agent      string
	httpClient *http.Client
	clock      clockwork.Clock
	log        *slog.Logger
	minBackoff time.Duration
	maxBackoff time.Duration
	events     chan<- linkEvent
	onAttempt  func(reconnect bool)

	// upKick (cap 1) is signalled each time a session is welcomed, for the heartbeat.
	upKick chan struct{}
	// diagnose carries the switchboard's self-test and log requests to diagnoseLoop.
	diagnose chan *signalling.Diagnose

	mu   sync.Mutex
	conn *signalling.Conn // set between welcome and the end of the session
	ws   *websocket.Conn  // conn's WebSocket, for measuring the round trip

	warnMu   sync.Mutex
	lastWarn time.Time
	dropped  int
}

// signalURL turns the configured base URL into the signalling endpoint.
func signalURL(base string) string {
	return strings.TrimSuffix(base, "/") + "/api/v1/signal"
}

// backoff returns the delay before attempt n (0-based) of a run of failures: min*2^n
// capped at max, then jittered to between half and all of that, so a fleet of booths that
// lost the switchboard at once does not come back in step.
func (l *link) backoff(n int) time.Duration {
	d := l.minBackoff
	for i := 0; i < n && d < l.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, l.maxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (l *link) run(ctx context.Context) error {
	failures := 0
	for attempt := 0; ; attempt++ {
		if l.onAttempt != nil {
			l.onAttempt(attempt > 0)
		}
		welcomed, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if welcomed {
			failures = 0
		}
		d := l.backoff(failures)
		failures++
		if l.rediscover != nil && !welcomed {
			if u := l.rediscover(); u != "" && u != l.url {
				l.log.Info("the switchboard moved; dialling its new address", "from", l.url, "to", u)
				l.url = u
				d = 0
			}
		}
		if errors.Is(err, errRevoked) {
			d = revokedRetry/2 + time.Duration(rand.Int64N(int64(revokedRetry/2)+1))
			l.log.Error("this device has been revoked by IT; it will ask again rarely in case it is reinstated",
				"err", err, "retry_in", d.Round(time.Second))
		} else {
			l.log.Warn("switchboard link down", "err", err, "retry_in", d.Round(time.Millisecond))
		}
		t := l.clock.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.Chan():
		}
	}
}

// session runs one connection. welcomed reports whether it got as far as a welcome.
func (l *link) session(ctx context.Context) (welcomed bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	hdr := http.Header{}
	if l.token != "" { // else the device's certificate, in httpClient, authenticates it
		hdr.Set("Authorization", "Bearer "+l.token)
	}
	ws, resp, err := websocket.Dial(dctx, signalURL(l.url), &websocket.DialOptions{HTTPClient: l.httpClient, HTTPHeader: hdr})
	cancel()
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			if refusedAsRevoked(resp) {
				l.emit(ctx, linkEvent{kind: linkRevoked})
				return false, fmt.Errorf("dial %s: %w (HTTP %d)", signalURL(l.url), errRevoked, resp.StatusCode)
			}
			what := "device token (check switchboard.token_file)"
			if l.token == "" {
				what = "device certificate (the device may have been removed or enrolled again; delete identity.crt to enrol anew)"
			}
			return false, fmt.Errorf("dial %s: the switchboard refused the %s (HTTP %d)", signalURL(l.url), what, resp.StatusCode)
		}
		return false, fmt.Errorf("dial %s: %w", signalURL(l.url), err)
	}
	conn := signalling.NewConn(ws)
	defer conn.CloseNow()

	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err = conn.Send(sctx, signalling.TypeHello, &signalling.Hello{Role: signalling.RoleDevice, Agent: l.agent})
	cancel()
	if err != nil {
		return false, err
	}
	wctx, cancel := context.WithTimeout(ctx, welcomeTimeout)
	_, body, err := conn.Recv(wctx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("wait for welcome: %w", err)
	}
	switch m := body.(type) {
	case *signalling.Welcome:
		l.setConn(conn, ws)
		defer l.setConn(nil, nil)
		if !l.emit(ctx, linkEvent{kind: linkUp, welcome: m}) {
			return true, ctx.Err()
		}
	case *signalling.Error:
		return false, fmt.Errorf("switchboard refused hello: %s: %s", m.Code, m.Message)
	default:
		return false, fmt.Errorf("got %T before welcome, want welcome", body)
	}

	for {
		env, body, err := conn.Recv(ctx)
		if errors.Is(err, signalling.ErrProtocol) {
			l.warn("bad message from switchboard", "err", err)
			continue
		}
		if err != nil {
			l.emit(ctx, linkEvent{kind: linkDown, err: err})
			return true, err
		}
		switch m := body.(type) {
		case *signalling.Error:
			if m.Code == signalling.CodeRevoked {
				l.emit(ctx, linkEvent{kind: linkRevoked})
				return true, fmt.Errorf("switchboard: %w: %s", errRevoked, m.Message)
			}
			l.log.Warn("switchboard reported an error", "code", m.Code, "message", m.Message, "ref", m.Ref)
		case *signalling.Schedule, *signalling.Call, *signalling.SDP, *signalling.Candidate, *signalling.End,
			*signalling.EventAck, *signalling.Settings, *signalling.Queue, *signalling.Help, *signalling.Config,
			*signalling.Restart, *signalling.QualityAck:
			if !l.emit(ctx, linkEvent{kind: linkMessage, typ: env.Type, body: body}) {
				return true, ctx.Err()
			}
		case *signalling.Diagnose:
			select {
			case l.diagnose <- m:
			default:
				l.warn("too many diagnose requests queued; dropped one", "request", m.Request)
			}
		default:
			l.log.Debug("ignored message not meant for a booth", "type", env.Type)
		}
	}
}

// refusedAsRevoked reports whether a refused dial's body is the switchboard's error with
// the revoked code ({"error": {"code": "revoked"}}, as package switchboard/api writes it).
func refusedAsRevoked(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024)) // the dialler keeps at most this much
	return json.Unmarshal(b, &body) == nil && body.Error.Code == signalling.CodeRevoked
}

func (l *link) emit(ctx context.Context, ev linkEvent) bool {
	select {
	case l.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *link) setConn(c *signalling.Conn, ws *websocket.Conn) {
	l.mu.Lock()
	l.conn, l.ws = c, ws
	l.mu.Unlock()
	if c != nil {
		select {
		case l.upKick <- struct{}{}:
		default:
		}
	}
}

// roundTrip measures the link's round trip to the switchboard with a WebSocket ping,
// in real time (it is the network's), ok false when the link is down or no pong came.
func (l *link) roundTrip(ctx context.Context) (time.Duration, bool) {
	l.mu.Lock()
	ws := l.ws
	l.mu.Unlock()
	if ws == nil {
		return 0, false
	}
	pctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	start := time.Now()
	if err := ws.Ping(pctx); err != nil {
		return 0, false
	}
	return time.Since(start), true
}

func (l *link) up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn != nil
}

// send writes one message if the link is up. A failed write closes the connection so the
// session notices and redials.
func (l *link) send(ctx context.Context, t signalling.Type, body any) error {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c == nil {
		return errOffline
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := c.Send(sctx, t, body); err != nil {
		c.CloseNow()
		return err
	}
	return nil
}

// warn logs at most one warning per 10 s (by l.clock), counting the ones it drops, so a
// misbehaving switchboard cannot flood the journal.
func (l *link) warn(msg string, args ...any) {
	l.warnMu.Lock()
	now := l.clock.Now()
	if !l.lastWarn.IsZero() && now.Sub(l.lastWarn) < 10*time.Second {
		l.dropped++
		l.warnMu.Unlock()
		return
	}
	dropped := l.dropped
	l.lastWarn, l.dropped = now, 0
	l.warnMu.Unlock()
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	l.log.Warn(msg, args...)
}
