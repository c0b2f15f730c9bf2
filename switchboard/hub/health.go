package hub

import (
	"time"

	"github.com/carebooth/carebooth/signalling"
)

// OfflineAfter is how long a device may go without a heartbeat before it counts as
// offline: three missed heartbeats.
const OfflineAfter = 3 * signalling.HeartbeatInterval

// Health is the latest heartbeat of a device and when it came. It is live state, kept in
// memory only: after a restart a device is offline until its next heartbeat, which comes
// as soon as it reconnects (the store keeps its last-seen time).
type Health struct {
	Heartbeat  signalling.Heartbeat
	ReceivedAt time.Time
	Online     bool
}

// heartbeat keeps a device's health. Must hold h.mu. Logged at debug only: one a device
// every 30 seconds would drown the log.
func (h *Hub) heartbeat(c *client, m *signalling.Heartbeat) {
	prev, had := h.health[c.id]
	h.health[c.id] = Health{Heartbeat: *m, ReceivedAt: h.clock.Now()}
	h.metrics.heartbeats.Inc()
	c.log.Debug("heartbeat", "state", m.State, "version", m.Version)
	if had && prev.Heartbeat.State != m.State {
		c.log.Info("booth state changed", "from", prev.Heartbeat.State, "to", m.State)
	}
	if !had || prev.Heartbeat.State != m.State || prev.Heartbeat.LastError != m.LastError ||
		h.clock.Since(prev.ReceivedAt) >= OfflineAfter {
		h.pushDevices(c.clinic) // sendDevices skips the stations whose view did not change
	}
}

// DeviceHealth returns the latest heartbeat of a device, ok false when none came since
// the switchboard started.
func (h *Hub) DeviceHealth(id string) (Health, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.health[id]
	if !ok {
		return Health{}, false
	}
	v.Online = h.clock.Since(v.ReceivedAt) < OfflineAfter
	return v, true
}

// Fleet returns the health of every device that sent a heartbeat, by device ID.
func (h *Hub) Fleet() map[string]Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]Health, len(h.health))
	for id, v := range h.health {
		v.Online = h.clock.Since(v.ReceivedAt) < OfflineAfter
		out[id] = v
	}
	return out
}
