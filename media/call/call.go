package call

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/mediadevices"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/carebooth/carebooth/signalling"
)

// Errors reported by a Call.
var (
	ErrBadRole      = errors.New("call: role is neither offerer nor answerer")
	ErrWrongRole    = errors.New("call: not this side's step of the offer/answer exchange")
	ErrBadSDP       = errors.New("call: bad session description")
	ErrBadCandidate = errors.New("call: bad ice candidate")
	ErrFailed       = errors.New("call: connection failed")
	ErrNotConnected = errors.New("call: no answered offer to restart")
	ErrRemoteClosed = errors.New("call: connection closed by the remote side")
	ErrClosed       = errors.New("call: closed")
)

// Options describe one call.
type Options struct {
	// Role is the side of the SDP exchange this end takes (the clinician offers, the booth
	// answers).
	Role signalling.CallRole
	// ICEServers are the STUN/TURN servers from the signalling call message.
	ICEServers []signalling.ICEServer
	// Tracks are the local media to send, from capture. They belong to the caller, who closes
	// them after Close; none means receive only.
	Tracks []mediadevices.Track
	// OnCandidate receives each local ICE candidate to trickle to the other side, with CallID
	// empty for the caller to fill in; an empty Candidate string ends the candidates. It is
	// called from pion's goroutines and must not block for long.
	OnCandidate func(signalling.Candidate)
	// OnVideoFrame receives each decoded video frame. The image is reused for the next frame:
	// copy what must outlive the call. Called from the track's receive goroutine.
	OnVideoFrame func(*image.YCbCr)
	// OnAudio receives each block of decoded (or concealed) audio: mono 16-bit PCM at 48 kHz,
	// reused for the next block. The call decodes packets as they arrive, with no jitter
	// buffer; a speaker wants OnAudioPacket instead.
	OnAudio func(pcm []int16)
	// OnAudioPacket receives each remote Opus RTP packet undecoded, in arrival order, for a
	// jitter buffer that decodes them itself at the speaker's pace (media/playout's Push).
	// The packet and its payload are reused after it returns: copy what you keep. When it
	// is set and OnAudio is not, the call does not decode audio at all. Nil means
	// EngineConfig.OnAudioPacket. Called from the track's receive goroutine.
	OnAudioPacket func(*rtp.Packet)
	// OnState receives every change of the connection's state, from pion's goroutine; it
	// must not block. When it is set, a failed connection does not end the call: ICE can
	// be restarted (RestartOffer on the offerer), and the owner decides when to give up and
	// Close. When it is nil, nobody will restart ICE, so failure ends the call (Done).
	OnState func(webrtc.PeerConnectionState)
	// MaxVideoBitrate caps what the bandwidth estimate may give the video encoder, in bits
	// per second: the capture's configured rate. Zero means DefaultMaxVideoBitrate.
	MaxVideoBitrate int
	// Logger overrides the engine's logger.
	Logger *slog.Logger
}

// Call is one WebRTC call. Its methods are safe for concurrent use. Close must be called,
// also after Done.
type Call struct {
	engine *Engine
	opts   Options
	log    *slog.Logger
	clock  clockwork.Clock
	pc     *webrtc.PeerConnection

	// Set inside NewPeerConnection (engine.newMu held), read-only afterwards.
	statsGetter stats.Getter
	// estimator is the send-side bandwidth estimate (GCC over TWCC feedback), set by the
	// engine while the peer connection is made; rate is what it did with it.
	estimator  cc.BandwidthEstimator
	rate       rateState
	framesSent *counter

	connected     chan struct{}
	connectedOnce sync.Once
	done          chan struct{}
	doneOnce      sync.Once
	closing       chan struct{}
	closeOnce     sync.Once
	closeErr      error
	wg            sync.WaitGroup // every goroutine the call started; Add only under mu with !closed

	mu           sync.Mutex // guards the fields below
	closed       bool
	remoteSet    bool
	queued       []webrtc.ICECandidateInit
	tracksAdded  bool
	err          error
	startedAt    time.Time
	connectedAt  time.Time
	firstFrameAt time.Time
	restarts     int // ICE restarts offered
	video        []*videoReceiver
	audio        []*audioReceiver
}

// NewCall creates the peer connection for one call. For the offerer the local tracks are
// added now; for the answerer, once the offer is known (in Answer).
func (e *Engine) NewCall(opts Options) (*Call, error) {
	if e == nil {
		return nil, errNoEngine
	}
	if opts.Role != signalling.CallOfferer && opts.Role != signalling.CallAnswerer {
		return nil, fmt.Errorf("new call with role %q: %w", opts.Role, ErrBadRole)
	}
	if opts.OnAudioPacket == nil {
		opts.OnAudioPacket = e.cfg.OnAudioPacket
	}
	log := opts.Logger
	if log == nil {
		log = e.logger
	} else {
		log = log.With("component", "call")
	}
	c := &Call{
		engine:    e,
		opts:      opts,
		log:       log.With("role", string(opts.Role)),
		clock:     e.clock,
		connected: make(chan struct{}),
		done:      make(chan struct{}),
		closing:   make(chan struct{}),
		startedAt: e.clock.Now(),
	}
	var conf webrtc.Configuration
	if e.cfg.RelayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	for _, s := range opts.ICEServers {
		conf.ICEServers = append(conf.ICEServers, webrtc.ICEServer{
			URLs: s.URLs, Username: s.Username, Credential: s.Credential,
		})
	}
	e.newMu.Lock()
	e.pending = c
	pc, err := e.api.NewPeerConnection(conf)
	e.pending = nil
	e.newMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	c.pc = pc
	if c.framesSent == nil {
		c.framesSent = &counter{}
	}
	pc.OnICECandidate(c.onCandidate)
	pc.OnConnectionStateChange(c.onState)
	if opts.OnState != nil {
		pc.SCTP().Transport().OnStateChange(c.onDTLSState)
	}
	pc.OnTrack(c.onTrack)

	if opts.Role == signalling.CallOfferer {
		if err := c.addTracks(); err != nil {
			pc.Close()
			return nil, err
		}
	}
	c.mu.Lock()
	c.wg.Add(1)
	c.mu.Unlock()
	go c.monitor()
	return c, nil
}

// addTracks adds the local tracks, and a receive-only transceiver for each kind there is no
// local track of, so the call still receives both.
func (c *Call) addTracks() error {
	c.mu.Lock()
	if c.tracksAdded {
		c.mu.Unlock()
		return nil
	}
	c.tracksAdded = true
	c.mu.Unlock()
	have := map[webrtc.RTPCodecType]bool{}
	for _, t := range c.opts.Tracks {
		if _, err := c.pc.AddTrack(negotiatedPT{TrackLocal: t, bound: c.encoderBound}); err != nil {
			return fmt.Errorf("add %s track %s: %w", t.Kind(), t.ID(), err)
		}
		have[t.Kind()] = true
	}
	if c.opts.Role == signalling.CallAnswerer {
		return nil // the offer decides which media there are
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if have[kind] {
			continue
		}
		if _, err := c.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionRecvonly,
		}); err != nil {
			return fmt.Errorf("add %s receiver: %w", kind, err)
		}
	}
	return nil
}

// Offer creates the offer (offerer only). Candidates follow through OnCandidate.
func (c *Call) Offer(ctx context.Context) (string, error) {
	if c.opts.Role != signalling.CallOfferer {
		return "", fmt.Errorf("offer as %s: %w", c.opts.Role, ErrWrongRole)
	}
	if err := c.usable(ctx); err != nil {
		return "", err
	}
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("set local offer: %w", err)
	}
	return offer.SDP, nil
}

// RestartOffer creates an offer that restarts ICE (RFC 8445 section 9, RFC 8839 section
// 4.4.1.1.1: new ufrag and password, candidates gathered afresh), keeping DTLS and the
// media as they are (offerer only). The answerer asks for it when its path fails or its
// network changes; SetAnswer applies the reply, and candidates follow through OnCandidate.
func (c *Call) RestartOffer(ctx context.Context) (string, error) {
	if c.opts.Role != signalling.CallOfferer {
		return "", fmt.Errorf("restart offer as %s: %w", c.opts.Role, ErrWrongRole)
	}
	if err := c.usable(ctx); err != nil {
		return "", err
	}
	if c.pc.RemoteDescription() == nil {
		return "", fmt.Errorf("restart offer: %w", ErrNotConnected)
	}
	offer, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return "", fmt.Errorf("create restart offer: %w", err)
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("set local restart offer: %w", err)
	}
	c.mu.Lock()
	c.restarts++
	c.mu.Unlock()
	return offer.SDP, nil
}

// Answer applies the remote offer and returns the answer (answerer only).
func (c *Call) Answer(ctx context.Context, offerSDP string) (string, error) {
	if c.opts.Role != signalling.CallAnswerer {
		return "", fmt.Errorf("answer as %s: %w", c.opts.Role, ErrWrongRole)
	}
	if err := c.usable(ctx); err != nil {
		return "", err
	}
	if err := c.setRemote(webrtc.SDPTypeOffer, offerSDP); err != nil {
		return "", err
	}
	if err := c.addTracks(); err != nil {
		return "", err
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local answer: %w", err)
	}
	return answer.SDP, nil
}

// SetAnswer applies the remote answer (offerer only).
func (c *Call) SetAnswer(answerSDP string) error {
	if c.opts.Role != signalling.CallOfferer {
		return fmt.Errorf("set answer as %s: %w", c.opts.Role, ErrWrongRole)
	}
	if err := c.usable(context.Background()); err != nil {
		return err
	}
	return c.setRemote(webrtc.SDPTypeAnswer, answerSDP)
}

func (c *Call) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
		return nil
	}
}

// setRemote applies the remote description, then the candidates that came before it.
func (c *Call) setRemote(typ webrtc.SDPType, sdp string) error {
	desc := webrtc.SessionDescription{Type: typ, SDP: sdp}
	if _, err := desc.Unmarshal(); err != nil {
		return fmt.Errorf("remote %s: %w: %w", typ, ErrBadSDP, err)
	}
	if err := c.pc.SetRemoteDescription(desc); err != nil {
		return fmt.Errorf("set remote %s: %w: %w", typ, ErrBadSDP, err)
	}
	c.mu.Lock()
	c.remoteSet = true
	queued := c.queued
	c.queued = nil
	c.mu.Unlock()
	for _, cand := range queued {
		if err := c.pc.AddICECandidate(cand); err != nil {
			// One bad candidate must not end the call; the others may well work.
			c.log.Warn("queued ice candidate refused", "candidate", cand.Candidate, "err", err)
		}
	}
	return nil
}

// AddCandidate adds a remote ICE candidate. Candidates that arrive before the remote
// description are kept and added after it. An empty candidate (end of candidates) is accepted
// and ignored.
func (c *Call) AddCandidate(sc signalling.Candidate) error {
	if sc.Candidate == "" {
		return nil
	}
	cand := webrtc.ICECandidateInit{
		Candidate:        sc.Candidate,
		SDPMid:           sc.SDPMid,
		SDPMLineIndex:    sc.SDPMLineIndex,
		UsernameFragment: sc.UsernameFragment,
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if !c.remoteSet {
		c.queued = append(c.queued, cand)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	if err := c.pc.AddICECandidate(cand); err != nil {
		return fmt.Errorf("add candidate %q: %w: %w", sc.Candidate, ErrBadCandidate, err)
	}
	return nil
}

func (c *Call) onCandidate(ic *webrtc.ICECandidate) {
	if c.opts.OnCandidate == nil {
		return
	}
	if ic == nil {
		c.opts.OnCandidate(signalling.Candidate{})
		return
	}
	j := ic.ToJSON()
	c.opts.OnCandidate(signalling.Candidate{
		Candidate:        j.Candidate,
		SDPMid:           j.SDPMid,
		SDPMLineIndex:    j.SDPMLineIndex,
		UsernameFragment: j.UsernameFragment,
	})
}

func (c *Call) onState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		c.mu.Lock()
		if c.connectedAt.IsZero() {
			c.connectedAt = c.clock.Now()
		}
		since := c.connectedAt.Sub(c.startedAt)
		c.mu.Unlock()
		c.connectedOnce.Do(func() { close(c.connected) })
		c.log.Info("call connected", "after", since)
	case webrtc.PeerConnectionStateDisconnected:
		c.log.Warn("call disconnected, waiting for ice to recover")
	case webrtc.PeerConnectionStateFailed:
		if c.opts.OnState == nil || c.dtlsOver() {
			c.log.Warn("call failed")
			c.finish(ErrFailed)
		} else {
			c.log.Warn("call media failed; an ice restart may recover it")
		}
	case webrtc.PeerConnectionStateClosed:
		c.finish(ErrRemoteClosed)
	}
	if c.opts.OnState != nil {
		c.opts.OnState(s)
	}
}

// onDTLSState ends the call when DTLS is over: the remote side sent close_notify (it hung
// up) or the handshake failed. Neither is something an ICE restart can mend.
func (c *Call) onDTLSState(s webrtc.DTLSTransportState) {
	switch s {
	case webrtc.DTLSTransportStateClosed:
		c.finish(ErrRemoteClosed)
	case webrtc.DTLSTransportStateFailed:
		c.finish(ErrFailed)
	}
}

func (c *Call) dtlsOver() bool {
	s := c.pc.SCTP().Transport().State()
	return s == webrtc.DTLSTransportStateClosed || s == webrtc.DTLSTransportStateFailed
}

// finish records why the call ended (unless Close ended it) and closes Done.
func (c *Call) finish(err error) {
	c.mu.Lock()
	if c.err == nil && !c.closed {
		c.err = err
	}
	c.mu.Unlock()
	c.doneOnce.Do(func() { close(c.done) })
}

// Connected is closed once media can flow (ICE and DTLS are up).
func (c *Call) Connected() <-chan struct{} { return c.connected }

// Done is closed when the connection closes, or fails (with no Options.OnState, or once
// DTLS is over), or Close is called. Err says why.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err is nil while the call runs or after Close ended it; ErrFailed or ErrRemoteClosed
// after the connection ended by itself.
func (c *Call) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the call and waits for every goroutine it started. It does not close the local
// tracks, which belong to the caller. It is idempotent.
func (c *Call) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.closing)
		c.detachTracks()
		if err := c.pc.GracefulClose(); err != nil {
			c.closeErr = fmt.Errorf("close peer connection: %w", err)
		}
		c.wg.Wait()
		c.finish(nil)
		s := c.Stats()
		c.log.Info("call closed", "frames_decoded", s.FramesDecoded, "audio_packets_decoded",
			s.AudioPacketsDecoded, "packets_lost", s.PacketsLost, "keyframes_requested", s.KeyFramesRequested)
	})
	return c.closeErr
}

// detachTracks unbinds the local tracks before the peer connection closes. Closing stops the
// senders first, which makes a mediadevices write goroutine that is mid-write fail and exit
// on its own while Unbind waits for it to acknowledge: mediadevices v0.10.0 then blocks
// forever (track.go, baseTrack.unbind). Unbinding while the senders still work lets the
// write goroutine finish its packet and acknowledge.
func (c *Call) detachTracks() {
	for _, s := range c.pc.GetSenders() {
		if s.Track() == nil {
			continue
		}
		if err := s.ReplaceTrack(nil); err != nil {
			c.log.Debug("detach local track", "err", err)
		}
	}
}

// counter is a uint64 counted from one goroutine and read from others.
type counter struct{ v atomic.Uint64 }

func (n *counter) add(d uint64) uint64 { return n.v.Add(d) }
func (n *counter) load() uint64        { return n.v.Load() }
