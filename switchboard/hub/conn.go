package hub

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
)

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
	gone := make(chan struct{})
	defer close(gone)
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
		gone:     gone,
	}
	if d := peer.Identity.Device; d != nil {
		c.role, c.id, c.clinic, c.name = signalling.RoleDevice, d.ID, d.ClinicID, d.Name
		c.clinicRoom = d.Role == device.RoleClinic
	} else {
		cl := peer.Identity.Clinician
		c.role, c.id, c.clinic, c.name = signalling.RoleClinician, cl.ID, cl.ClinicID, cl.Name
	}
	c.addr = peer.Addr
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
		if m.closeWith != "" {
			c.log.Info("closing signalling connection", "reason", m.closeWith)
			c.ws.Close(websocket.StatusPolicyViolation, m.closeWith) //nolint:errcheck // the peer may be gone already
			return false
		}
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
			} else {
				h.refreshDevices(c)
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
	m := outMsg{t: t, body: body}
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

// closeAfterSent asks c's writer to close the connection, with reason as the close frame's,
// once what is queued has been written. Must hold h.mu, or be the reader.
func (c *client) closeAfterSent(reason string) {
	select {
	case c.out <- outMsg{closeWith: reason}:
	default:
		c.cancel() // not reading: nothing queued would reach it anyway
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
	case signalling.TypeQueue, signalling.TypeSchedule, signalling.TypeDevices:
		return string(t)
	case signalling.TypeHelp:
		if m, ok := body.(*signalling.Help); ok && m.DeviceID != "" {
			return string(t) + "/" + m.DeviceID
		}
	}
	return ""
}
