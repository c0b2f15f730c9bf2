package booth

import (
	"context"
	"errors"

	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/signalling"
)

// HealthSource reports what boothd knows of its own health: version, uptime, the devices
// it opened, free disk, temperature, last error. The booth fills in the state itself.
type HealthSource interface {
	Health() signalling.Heartbeat
}

// BoothState is what the booth is doing as heartbeats and mDNS announcements say it. A
// fault is the caller's to add (boothd's fault screen), which the booth core does not see.
func (s Snapshot) BoothState() signalling.BoothState {
	switch {
	case s.Help:
		return signalling.StateHelp
	case s.State == InCall:
		return signalling.StateInCall
	case s.State == Waiting:
		return signalling.StateWaiting
	}
	return signalling.StateIdle
}

// heartbeat builds the heartbeat to send now.
func (b *Booth) heartbeat(ctx context.Context) *signalling.Heartbeat {
	hb := b.health.Health()
	if hb.State != signalling.StateFault {
		hb.State = b.Snapshot().BoothState()
	}
	if hb.Version == "" {
		hb.Version = version.String()
	}
	if hb.RTTMs == nil {
		if rtt, ok := b.link.roundTrip(ctx); ok {
			ms := float64(rtt.Microseconds()) / 1000
			hb.RTTMs = &ms
		}
	}
	return &hb
}

// heartbeatLoop sends a heartbeat each time the link comes up and then every
// signalling.HeartbeatInterval while it stays up. Logged at debug only.
func (b *Booth) heartbeatLoop(ctx context.Context) error {
	t := b.clock.NewTicker(signalling.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.link.upKick:
		case <-t.Chan():
		}
		err := b.link.send(ctx, signalling.TypeHeartbeat, b.heartbeat(ctx))
		switch {
		case errors.Is(err, errOffline):
		case err != nil && ctx.Err() == nil:
			b.link.warn("send heartbeat", "err", err)
		default:
			b.log.Debug("heartbeat sent")
		}
	}
}
