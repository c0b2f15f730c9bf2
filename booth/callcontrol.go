package booth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
)

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

	// Only the loop touches these.
	connectedAt time.Time        // for the quality report at the end
	ticker      clockwork.Ticker // reads the call's stats every StatsInterval
	// brokenAt is when the media path broke, zero while it carries media; restarts
	// counts the restarts asked for since, and restartTimer asks again (restart.go).
	brokenAt     time.Time
	restarts     int
	restartTimer clockwork.Timer
	// framesAt is when the remote video last moved (its decoded frame count went up), for
	// telling the patient the picture has paused while the sound goes on.
	framesAt   time.Time
	lastFrames uint64
	lastAudio  uint64
	paused     bool
}

// PausedAfter is how long the clinician's picture may stand still, while their sound keeps
// coming, before the screen says it has paused: long enough not to flicker on a keyframe's
// wait, short enough that nobody wonders whether the booth froze.
const PausedAfter = 3 * time.Second

// tally is what the snapshot counts.
type tally struct {
	calls   int       // calls started
	ignored int       // button presses that did nothing
	stats   CallStats // the current (or last) call's, at the last stats tick
}

var errNotOfferer = errors.New("the call cannot take the offering side")

// callSide is the side of the SDP exchange a device of each role takes: a booth answers
// the clinician's offer; the clinic-room appliance, taking the clinician's place, offers.
func (b *Booth) callSide() (signalling.CallRole, string) {
	if b.cfg.Role == device.RoleClinic {
		return signalling.CallOfferer, "the clinic-room appliance only offers"
	}
	return signalling.CallAnswerer, "the booth only answers calls"
}

// onCall starts a call the switchboard set up, on the side the booth's role takes: one
// path for both, which differ only in what must hold first (a booth answers only from
// the waiting room) and in who speaks first (the offerer sends its offer at once; the
// answerer waits for one, in onOffer).
func (b *Booth) onCall(ctx context.Context, m *signalling.Call) {
	refuse := func(why string) { b.refuseCall(ctx, m.CallID, why) }
	side, only := b.callSide()
	appt := m.AppointmentID
	switch {
	case m.Role != side:
		refuse(only + ", got role " + string(m.Role))
		return
	case b.call != nil:
		refuse("already in call " + b.call.id)
		return
	case side == signalling.CallAnswerer && b.sched.waiting == "":
		refuse("not in the waiting room")
		return
	}
	if appt == "" && side == signalling.CallAnswerer {
		appt = b.sched.waiting
	}
	cc := &callCtl{id: m.CallID, apptID: appt, link: b.link, ctx: ctx, log: b.log}
	ac, err := b.caller.StartCall(ctx, CallParams{
		CallID:        m.CallID,
		AppointmentID: appt,
		Role:          side,
		ICEServers:    m.ICEServers,
		OnCandidate:   cc.onCandidate,
	})
	if err != nil {
		b.log.Error("start call", "call", m.CallID, "err", err)
		refuse("media did not start")
		return
	}
	if side == signalling.CallOfferer {
		if err := b.offer(ctx, m.CallID, ac); err != nil {
			ac.Close()
			b.log.Error("offer", "call", m.CallID, "err", err)
			refuse("could not offer")
			return
		}
	}
	cc.ac, cc.connected = ac, ac.Connected()
	b.call, b.tally.stats = cc, CallStats{}
	if side == signalling.CallAnswerer {
		b.sched.waiting = "" // in the call now, out of the waiting room
	} else {
		b.sched.arrivedAt = b.clock.Now()
	}
	b.tally.calls++
	cc.ticker = b.clock.NewTicker(b.cfg.StatsInterval)
	b.run.mu.Lock()
	b.run.active = ac
	b.run.mu.Unlock()
	b.log.Info("call started", "call", m.CallID, "appointment", appt, "peer", m.Peer, "side", side)
	if side == signalling.CallOfferer {
		cc.flushCandidates() // the offer is out: the switchboard relays candidates now
	}
}

// offer creates the local offer of a call the clinic-room appliance starts and sends it.
func (b *Booth) offer(ctx context.Context, callID string, ac ActiveCall) error {
	off, ok := ac.(Offerer)
	if !ok {
		return errNotOfferer
	}
	sdp, err := off.Offer(ctx)
	if err != nil {
		return err
	}
	return b.link.send(ctx, signalling.TypeOffer, &signalling.SDP{CallID: callID, SDP: sdp})
}

// refuseCall turns down a call the switchboard started, telling it the call failed.
func (b *Booth) refuseCall(ctx context.Context, callID, why string) {
	b.log.Warn("refusing call", "call", callID, "why", why)
	if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: callID, Reason: signalling.EndFailed}); err != nil {
		b.log.Warn("send end", "call", callID, "err", err)
	}
}

func (b *Booth) onOffer(ctx context.Context, m *signalling.SDP) {
	if b.call == nil || b.call.id != m.CallID {
		b.log.Warn("offer for a call we are not in; ignored", "call", m.CallID)
		return
	}
	cc := b.call
	cc.holdCandidates() // a re-offer (an ice restart): its candidates follow our answer
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

func (b *Booth) onCallFailed(ctx context.Context) {
	cc := b.call
	b.log.Warn("call media failed", "call", cc.id)
	if err := b.link.send(ctx, signalling.TypeEnd, &signalling.End{CallID: cc.id, Reason: signalling.EndFailed}); err != nil {
		b.log.Warn("send end", "call", cc.id, "err", err)
	}
	b.closeCall("failed")
	if b.cfg.Role != device.RoleClinic {
		// A failed call is not a consultation: wait to be admitted again (the switchboard
		// has put the patient back in the waiting room).
		b.arrive(ctx, cc.apptID)
	}
}

func (b *Booth) readStats() {
	cc := b.call
	s := cc.ac.Stats()
	b.metrics.setCallGauges(s)
	b.tally.stats = s
	now := b.clock.Now()
	audio := s.AudioPacketsDecoded > cc.lastAudio
	if s.FramesDecoded > cc.lastFrames || cc.framesAt.IsZero() {
		cc.framesAt = now
	}
	paused := audio && cc.connected == nil && cc.lastFrames > 0 && now.Sub(cc.framesAt) >= PausedAfter
	if paused != cc.paused {
		b.log.Info("the clinician's picture", "paused", paused, "call", cc.id, "frames", s.FramesDecoded)
		cc.paused = paused
	}
	cc.lastFrames, cc.lastAudio = s.FramesDecoded, s.AudioPacketsDecoded
}

// reportQuality tells the switchboard how a call that carried media went, for the
// commissioners' report. The figures are kept first, and sent again on every connection
// until the switchboard acknowledges them: a call that ends as the link drops still counts.
func (b *Booth) reportQuality(cc *callCtl) {
	if cc.connectedAt.IsZero() || b.cfg.Role == device.RoleClinic {
		return // no media flowed, or the appointment is a booth's to report
	}
	q := signalling.Quality{
		AppointmentID: cc.apptID,
		CallID:        cc.id,
		BitrateKbps:   min(max(b.tally.stats.MeanSendBitrateKbps, 0), 100_000),
		PacketLossPct: min(max(b.tally.stats.PacketLoss*100, 0), 100),
		RTTMs:         min(float64(b.tally.stats.RTT)/float64(time.Millisecond), 60_000),
		Seconds:       min(b.clock.Since(cc.connectedAt).Seconds(), 86_400),
	}
	if err := b.store.KeepQuality(q); err != nil {
		b.log.Error("keep call quality", "call", cc.id, "err", err)
	}
	if err := b.link.send(cc.ctx, signalling.TypeQuality, &q); err != nil {
		b.log.Debug("call quality not sent now; sent when the link is back", "call", cc.id, "err", err)
	}
}

// sendKeptQuality sends the call figures the switchboard has not acknowledged yet, as a
// connection comes up.
func (b *Booth) sendKeptQuality(ctx context.Context) {
	kept, err := b.store.KeptQuality()
	if err != nil {
		b.log.Error("read kept call quality", "err", err)
		return
	}
	for _, q := range kept {
		if err := b.link.send(ctx, signalling.TypeQuality, &q); err != nil {
			return
		}
	}
	if len(kept) > 0 {
		b.log.Info("call quality sent again", "calls", len(kept))
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
