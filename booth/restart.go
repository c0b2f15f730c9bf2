package booth

import (
	"context"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
)

// When a call's media path breaks (ICE disconnected or failed), the booth does not end
// the call: it asks for an ICE restart, and asks again every restartRetry while the path
// stays broken, up to restartWindow. Only then does the call fail and the patient wait
// to be admitted again. 20 s covers a Wi-Fi roam or a router's restart of its uplink; a
// longer gap leaves the clinician looking at a frozen picture for too long.
const (
	restartWindow = 20 * time.Second
	restartRetry  = 7 * time.Second // under signalling.RestartTimeout, so a lost request is retried
)

// onPathChanged acts on the call's path breaking or mending.
func (b *Booth) onPathChanged(ctx context.Context) {
	cc := b.call
	r, ok := cc.ac.(Restarter)
	if !ok {
		return
	}
	reason := r.PathBroken()
	switch {
	case reason == "" && !cc.brokenAt.IsZero():
		b.log.Info("call media recovered", "call", cc.id, "after", b.clock.Since(cc.brokenAt), "restarts", cc.restarts)
		b.metrics.iceRestartsRecovered.Inc()
		cc.brokenAt, cc.restarts = time.Time{}, 0
		cc.stopRestartTimer()
	case reason != "" && cc.brokenAt.IsZero():
		b.log.Warn("call media path broken; asking for an ice restart", "call", cc.id, "reason", reason)
		cc.brokenAt = b.clock.Now()
		b.askRestart(ctx, reason)
		cc.restartTimer = b.clock.NewTimer(restartRetry)
	}
}

// onNetworkChanged restarts ICE on a connected call when the host's addresses, links or
// routes changed: the path in use may be gone, and waiting for the checks to say so costs
// seconds of frozen picture. A path already broken is being restarted anyway.
func (b *Booth) onNetworkChanged(ctx context.Context) {
	cc := b.call
	if cc == nil || cc.connected != nil || !cc.brokenAt.IsZero() {
		return
	}
	if _, ok := cc.ac.(Restarter); !ok {
		return
	}
	b.log.Info("the network changed during a call; asking for an ice restart", "call", cc.id)
	b.askRestart(ctx, signalling.RestartNetworkChange)
}

// onRestartTimer asks again while the path stays broken, and fails the call once
// restartWindow has passed.
func (b *Booth) onRestartTimer(ctx context.Context) {
	cc := b.call
	cc.restartTimer = nil
	r, ok := cc.ac.(Restarter)
	if !ok || cc.brokenAt.IsZero() {
		return
	}
	reason := r.PathBroken()
	if reason == "" {
		b.onPathChanged(ctx)
		return
	}
	left := restartWindow - b.clock.Since(cc.brokenAt)
	if left <= 0 {
		b.log.Warn("call media did not recover", "call", cc.id, "after", restartWindow, "restarts", cc.restarts)
		b.onCallFailed(ctx)
		return
	}
	b.askRestart(ctx, reason)
	cc.restartTimer = b.clock.NewTimer(min(restartRetry, left))
}

// askRestart asks for an ICE restart: a booth (the answerer) asks the offerer through
// the switchboard; the clinic-room appliance, the offerer, restarts by itself.
func (b *Booth) askRestart(ctx context.Context, reason signalling.RestartReason) {
	cc := b.call
	cc.restarts++
	b.metrics.iceRestarts.Inc()
	if b.cfg.Role == device.RoleClinic {
		b.restartOffer(ctx)
		return
	}
	if err := b.link.send(ctx, signalling.TypeRestart, &signalling.Restart{CallID: cc.id, Reason: reason}); err != nil {
		b.log.Warn("ask for an ice restart", "call", cc.id, "err", err)
	}
}

// onRestart answers the booth's restart request (clinic-room role): an offer that
// restarts ICE.
func (b *Booth) onRestart(ctx context.Context, m *signalling.Restart) {
	if b.cfg.Role != device.RoleClinic || b.call == nil || b.call.id != m.CallID {
		b.log.Debug("restart for a call we do not offer; ignored", "call", m.CallID)
		return
	}
	b.log.Info("the booth asks for an ice restart", "call", m.CallID, "reason", m.Reason)
	b.restartOffer(ctx)
}

func (b *Booth) restartOffer(ctx context.Context) {
	cc := b.call
	ro, ok := cc.ac.(RestartOfferer)
	if !ok {
		return
	}
	cc.holdCandidates() // the new candidates follow the offer, not precede it
	sdp, err := ro.RestartOffer(ctx)
	if err == nil {
		err = b.link.send(ctx, signalling.TypeOffer, &signalling.SDP{CallID: cc.id, SDP: sdp})
	}
	if err != nil {
		b.log.Warn("ice restart offer", "call", cc.id, "err", err)
	}
	cc.flushCandidates()
}

// holdCandidates keeps new local candidates back until flushCandidates: across a
// renegotiation they must follow the description that carries their ufrag.
func (cc *callCtl) holdCandidates() {
	cc.mu.Lock()
	cc.answered = false
	cc.mu.Unlock()
}

func (cc *callCtl) stopRestartTimer() {
	if cc.restartTimer != nil {
		cc.restartTimer.Stop()
		cc.restartTimer = nil
	}
}
