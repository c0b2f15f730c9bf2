package mediacall

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices"
	"github.com/pion/webrtc/v4"
)

// Caller starts booth calls with a call.Engine and local media from capture.
type Caller struct {
	engine  *call.Engine
	capture capture.Config
	log     *slog.Logger
	clock   clockwork.Clock
	// OnVideoFrame and OnAudio receive the remote picture and sound (for the screen and
	// speaker); nil discards them. See call.Options for their rules.
	onVideo func(*image.YCbCr)
	onAudio func([]int16)
	metrics *call.Metrics
	open    func() (LocalMedia, error)
}

var _ booth.Caller = (*Caller)(nil)

// LocalMedia is the media a call sends: a *capture.Stream, or media/synth's in tests.
type LocalMedia interface {
	Tracks() []mediadevices.Track
	Close() error
}

// Config configures a Caller.
type Config struct {
	Capture      capture.Config
	OnVideoFrame func(*image.YCbCr)
	OnAudio      func(pcm []int16)
	// Metrics, if set, is updated with media/call's detailed stats (packets lost and
	// concealed, key frames requested, receive bitrate) whenever the booth reads a call's
	// stats, and once more when the call closes.
	Metrics *call.Metrics
	// OpenMedia, if set, opens each call's local media instead of capture.Open with
	// Capture: a test running a booth and a clinic-room appliance in one process gives
	// one of them media/synth's sources (mediadevices' test drivers open once per process).
	OpenMedia func() (LocalMedia, error)
}

// New returns a Caller. engine is shared by all calls; clock (nil for real) times the
// bitrate in Stats; logger may be nil.
func New(engine *call.Engine, cfg Config, clock clockwork.Clock, logger *slog.Logger) (*Caller, error) {
	if engine == nil {
		return nil, errors.New("mediacall: engine is nil")
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Caller{engine: engine, capture: cfg.Capture, log: logger, clock: clock,
		onVideo: cfg.OnVideoFrame, onAudio: cfg.OnAudio, metrics: cfg.Metrics, open: cfg.OpenMedia}
	if c.capture.Mute == nil {
		// One gate for the booth's microphone: a booth has one call at a time.
		c.capture.Mute = new(capture.Mute)
	}
	if c.open == nil {
		c.open = func() (LocalMedia, error) { return capture.Open(c.capture, c.log) }
	}
	return c, nil
}

// StartCall opens local media and creates the call: the answering side for a booth, the
// offering side (p.Role offerer) for the clinic-room appliance.
func (c *Caller) StartCall(ctx context.Context, p booth.CallParams) (booth.ActiveCall, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.capture.Mute.Set(false) // every call starts with the microphone on
	stream, err := c.open()
	if err != nil {
		return nil, fmt.Errorf("open local media: %w", err)
	}
	role := p.Role
	if role == "" {
		role = signalling.CallAnswerer
	}
	ac := &activeCall{stream: stream, clock: c.clock, metrics: c.metrics, mute: c.capture.Mute, pathKick: make(chan struct{}, 1)}
	mc, err := c.engine.NewCall(call.Options{
		OnState:      ac.onState,
		Role:         role,
		ICEServers:   p.ICEServers,
		Tracks:       stream.Tracks(),
		OnCandidate:  p.OnCandidate,
		OnVideoFrame: c.onVideo,
		OnAudio:      c.onAudio,
		// The configured rate is the most the bandwidth estimate gives video.
		MaxVideoBitrate: c.capture.VideoBitrate,
		Logger:          c.log.With("call", p.CallID),
	})
	if err != nil {
		stream.Close()
		return nil, fmt.Errorf("call %s: %w", p.CallID, err)
	}
	ac.call = mc
	return ac, nil
}

// activeCall is one call and the local media it sends.
type activeCall struct {
	call    *call.Call
	stream  LocalMedia
	clock   clockwork.Clock
	metrics *call.Metrics // may be nil
	mute    *capture.Mute

	mu        sync.Mutex // guards prevBytes, prevAt and broken
	prevBytes uint64
	prevAt    time.Time
	broken    signalling.RestartReason // "" while the path carries media
	pathKick  chan struct{}            // cap 1: broken changed
}

// onState follows the connection's state, from pion's goroutine: a disconnected or
// failed path is reported to the booth, which asks for an ICE restart (booth.Restarter).
func (a *activeCall) onState(s webrtc.PeerConnectionState) {
	var r signalling.RestartReason
	switch s {
	case webrtc.PeerConnectionStateConnected:
	case webrtc.PeerConnectionStateDisconnected:
		r = signalling.RestartDisconnected
	case webrtc.PeerConnectionStateFailed:
		r = signalling.RestartFailed
	default:
		return
	}
	a.mu.Lock()
	changed := a.broken != r
	a.broken = r
	a.mu.Unlock()
	if changed {
		select {
		case a.pathKick <- struct{}{}:
		default:
		}
	}
}

func (a *activeCall) PathChanged() <-chan struct{} { return a.pathKick }

func (a *activeCall) PathBroken() signalling.RestartReason {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.broken
}

// RestartOffer makes an offer that restarts ICE (the clinic-room appliance's side).
func (a *activeCall) RestartOffer(ctx context.Context) (string, error) {
	return a.call.RestartOffer(ctx)
}

var (
	_ booth.ActiveCall     = (*activeCall)(nil)
	_ booth.Offerer        = (*activeCall)(nil)
	_ booth.Muter          = (*activeCall)(nil)
	_ booth.Restarter      = (*activeCall)(nil)
	_ booth.RestartOfferer = (*activeCall)(nil)
)

// SetMuted mutes or unmutes the microphone: the clinician hears silence while it is on.
// Media opened through Config.OpenMedia is not gated unless it was built with the
// Caller's Capture config.
func (a *activeCall) SetMuted(muted bool) error {
	a.mute.Set(muted)
	return nil
}

// Offer creates the offer of a call started with Role offerer.
func (a *activeCall) Offer(ctx context.Context) (string, error) { return a.call.Offer(ctx) }

// SetAnswer applies the remote answer to an offer.
func (a *activeCall) SetAnswer(sdp string) error { return a.call.SetAnswer(sdp) }

func (a *activeCall) Answer(ctx context.Context, offer string) (string, error) {
	return a.call.Answer(ctx, offer)
}

func (a *activeCall) AddCandidate(c signalling.Candidate) error { return a.call.AddCandidate(c) }
func (a *activeCall) Connected() <-chan struct{}                { return a.call.Connected() }
func (a *activeCall) Done() <-chan struct{}                     { return a.call.Done() }

// Stats converts call.Stats. The bitrate is averaged since the previous Stats call, or since
// the media connected for the first (the booth reads stats every few seconds; an extra
// reader shortens the window); packet
// loss is packets lost over packets expected (received plus lost) of the remote streams.
func (a *activeCall) Stats() booth.CallStats {
	s := a.call.Stats()
	if a.metrics != nil {
		a.metrics.Update(s)
	}
	out := booth.CallStats{
		FramesSent:          s.FramesSent,
		FramesDecoded:       s.FramesDecoded,
		AudioPacketsDecoded: s.AudioPacketsDecoded,
		RTT:                 s.RTT,
	}
	if lost := max(s.PacketsLost, 0); lost > 0 {
		expected := float64(lost) + float64(s.VideoPacketsReceived) + float64(s.AudioPacketsDecoded)
		out.PacketLoss = float64(lost) / expected
	}
	now := a.clock.Now()
	if !s.ConnectedAt.IsZero() && now.After(s.ConnectedAt) {
		out.MeanSendBitrateKbps = float64(s.BytesSent) * 8 / 1000 / now.Sub(s.ConnectedAt).Seconds()
	}
	a.mu.Lock()
	since, base := a.prevAt, a.prevBytes
	if since.IsZero() {
		since, base = s.ConnectedAt, 0 // the first reading: the mean since the media connected
	}
	if !since.IsZero() && now.After(since) && s.BytesSent >= base {
		out.SendBitrateKbps = float64(s.BytesSent-base) * 8 / 1000 / now.Sub(since).Seconds()
	}
	a.prevBytes, a.prevAt = s.BytesSent, now
	a.mu.Unlock()
	return out
}

// Close ends the call, then releases the camera and microphone.
func (a *activeCall) Close() error {
	err := a.call.Close()
	if a.metrics != nil {
		a.metrics.Update(a.call.Stats())
	}
	if serr := a.stream.Close(); err == nil {
		err = serr
	}
	return err
}
