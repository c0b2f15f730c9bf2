package call

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/pionlog"
)

// EngineConfig configures an Engine. The zero value suits a booth on a LAN with a TURN
// server given per call.
type EngineConfig struct {
	Logger *slog.Logger
	Clock  clockwork.Clock // nil means the real clock

	// Loopback gathers 127.0.0.1 host candidates. Off on a booth; on for tests and the e2e
	// harness, where loopback is the only network.
	Loopback bool
	// NetworkTypes restricts ICE to these networks; nil means UDP over IPv4 and IPv6.
	NetworkTypes []webrtc.NetworkType
	// RelayOnly uses relayed candidates only (ICE transport policy "relay"): every packet
	// goes through a TURN server, as on a site whose firewall blocks UDP between the
	// parties; for tests of the switchboard's relay and for such sites.
	RelayOnly bool
	// DisableMDNS stops ICE from resolving the .local candidates browsers send and from opening
	// multicast sockets. Leave it off with real browsers.
	DisableMDNS bool
	// UDPPortMin and UDPPortMax bound the local UDP ports, for firewalls; zero means any.
	UDPPortMin, UDPPortMax uint16
	// ICEDisconnectedTimeout, ICEFailedTimeout and ICEKeepaliveInterval default to
	// DefaultICEDisconnectedTimeout, DefaultICEFailedTimeout and DefaultICEKeepaliveInterval,
	// well below pion's 5 s, 25 s and 2 s: see those constants for why.
	ICEDisconnectedTimeout, ICEFailedTimeout, ICEKeepaliveInterval time.Duration
	// Net replaces the operating system's network, for tests on pion's vnet
	// (github.com/pion/transport/v5/vnet); nil means the real one.
	Net transport.Net

	// OnAudioPacket is the default for Options.OnAudioPacket: a booth has one speaker, and
	// every call its engine builds plays there unless the call's Options say otherwise.
	OnAudioPacket func(*rtp.Packet)

	// PLIInterval is how often a receiver that lacks a keyframe asks again, and
	// StallTimeout how long without a decoded frame (while packets arrive) before it asks.
	// Zero means 500 ms and 2 s.
	PLIInterval, StallTimeout time.Duration
}

// ICE timing defaults. pion's (5 s to disconnected, 25 s to failed, a keepalive every 2 s)
// suit a browser tab; on a booth a frozen picture for 25 s before anything is tried is a
// consultation lost. The booth restarts ICE when the path goes disconnected or failed, so
// these decide how soon recovery starts:
//
//   - a keepalive (STUN binding, RFC 7675 consent) every 500 ms is 2 packets a second of
//     ~100 bytes each way: nothing beside video, and it makes a dead path visible quickly;
//   - disconnected after 2 s without a response is 4 missed keepalives, more than a Wi-Fi
//     roam or a burst of loss takes (a few hundred ms), so a healthy call does not flap,
//     and media that stalls for 2 s is already noticed by a person;
//   - failed after 6 s (4 s more) lets a path that comes back by itself be used again
//     without a restart, while still giving up on the old path long before pion would.
const (
	DefaultICEDisconnectedTimeout = 2 * time.Second
	DefaultICEFailedTimeout       = 6 * time.Second
	DefaultICEKeepaliveInterval   = 500 * time.Millisecond
)

// Engine builds calls that share codecs, interceptors and network settings. It holds no
// goroutines and needs no closing.
type Engine struct {
	cfg    EngineConfig
	api    *webrtc.API
	logger *slog.Logger
	clock  clockwork.Clock

	// newMu serialises NewPeerConnection, so the per-connection interceptors built inside it
	// are handed to the call being created (must hold newMu to read or write pending).
	newMu   sync.Mutex
	pending *Call
}

// NewEngine builds the webrtc.API: VP8 and Opus as capture's encoders produce them, NACK
// generator and responder (RFC 4585), sender and receiver reports (RFC 3550), transport-wide
// congestion control feedback, and stream statistics.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.PLIInterval <= 0 {
		cfg.PLIInterval = 500 * time.Millisecond
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 2 * time.Second
	}
	e := &Engine{cfg: cfg, logger: cfg.Logger.With("component", "call"), clock: cfg.Clock}

	m := &webrtc.MediaEngine{}
	if err := capture.RegisterCodecs(m); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	reg := &interceptor.Registry{}
	// The stats interceptor comes first, nearest the network, so it also sees the sender
	// reports the report interceptor writes; without them it cannot work out the RTT.
	sf, err := stats.NewInterceptor(stats.WithLoggerFactory(pionlog.New(e.logger.With("lib", "pion"))))
	if err != nil {
		return nil, fmt.Errorf("stats interceptor: %w", err)
	}
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) {
		// Called inside NewPeerConnection, under newMu.
		if e.pending != nil {
			e.pending.statsGetter = g
		}
	})
	reg.Add(sf)
	// A lost packet is asked for twice at most: on a congested link the resends are
	// lost too, and asking every 100 ms without end multiplies the load that caused the loss.
	if err := webrtc.ConfigureNackWithOptions(m, reg, []nack.GeneratorOption{nack.GeneratorMaxNacksPerPacket(2)}); err != nil {
		return nil, fmt.Errorf("configure nack: %w", err)
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "ccm", Parameter: "fir"}, webrtc.RTPCodecTypeVideo)
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("configure rtcp reports: %w", err)
	}
	// Congestion control: Google's congestion control on transport-wide feedback, sender
	// side (the estimate drives the video encoder's bitrate, rate.go). No pacer: the
	// encoder's rate is the control, and a pacer's queue could only add delay.
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(InitialBitrate), gcc.SendSideBWEMinBitrate(MinBitrate),
			gcc.SendSideBWEMaxBitrate(MaxBitrate), gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.WithLoggerFactory(pionlog.New(e.logger.With("lib", "pion"))))
	})
	if err != nil {
		return nil, fmt.Errorf("congestion control: %w", err)
	}
	ccf.OnNewPeerConnection(func(_ string, est cc.BandwidthEstimator) {
		// Called inside NewPeerConnection, under newMu.
		if e.pending != nil {
			e.pending.estimator = est
		}
	})
	reg.Add(ccf)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, fmt.Errorf("configure twcc header extension: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, fmt.Errorf("configure twcc: %w", err)
	}
	reg.Add(&frameCounterFactory{engine: e})

	var s webrtc.SettingEngine
	s.LoggerFactory = pionlog.New(e.logger.With("lib", "pion"))
	s.SetIncludeLoopbackCandidate(cfg.Loopback)
	nt := cfg.NetworkTypes
	if nt == nil {
		nt = []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	}
	s.SetNetworkTypes(nt)
	if cfg.DisableMDNS {
		s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := s.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("udp port range %d-%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	if cfg.ICEDisconnectedTimeout <= 0 {
		cfg.ICEDisconnectedTimeout = DefaultICEDisconnectedTimeout
	}
	if cfg.ICEFailedTimeout <= 0 {
		cfg.ICEFailedTimeout = DefaultICEFailedTimeout
	}
	if cfg.ICEKeepaliveInterval <= 0 {
		cfg.ICEKeepaliveInterval = DefaultICEKeepaliveInterval
	}
	s.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, cfg.ICEKeepaliveInterval)
	if cfg.Net != nil {
		s.SetNet(cfg.Net)
	}
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(s))
	return e, nil
}

// frameCounterFactory counts video frames sent (RTP packets with the marker bit, RFC 7741
// section 4.1) on each connection; pion's stats count packets, not frames.
type frameCounterFactory struct{ engine *Engine }

func (f *frameCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	fc := &frameCounter{}
	// Called inside NewPeerConnection, under newMu.
	if f.engine.pending != nil {
		f.engine.pending.framesSent = &fc.frames
	}
	return fc, nil
}

type frameCounter struct {
	interceptor.NoOp
	frames counter
}

func (fc *frameCounter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if len(info.MimeType) < 6 || info.MimeType[:6] != "video/" {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.Marker {
			fc.frames.add(1)
		}
		return w.Write(h, payload, a)
	})
}

var errNoEngine = errors.New("call: nil engine")
