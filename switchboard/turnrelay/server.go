package turnrelay

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"

	"github.com/carebooth/carebooth/pionlog"
	"github.com/carebooth/carebooth/signalling"
)

// Realm is the TURN realm.
const Realm = "carebooth"

// DefaultMaxAllocations bounds the relay's allocations: a call takes two (one a party), a
// browser sometimes a few.
const DefaultMaxAllocations = 512

// Config says where the relay listens and what it announces.
type Config struct {
	// Listen is host:port for both UDP and TCP, e.g. ":3478".
	Listen string
	// PublicIP is the address relayed candidates carry, the one the parties reach the
	// relay at. Required.
	PublicIP netip.Addr
	// Host is the name or address put in the turn: URLs handed out; default PublicIP.
	Host string
	// MaxAllocations bounds the allocations held; 0: DefaultMaxAllocations.
	MaxAllocations int
	// AllowLoopbackPeers lets the relay reach loopback peers: for tests on one machine only.
	AllowLoopbackPeers bool
	// TLSListen, with TLSCertificate, also serves TURN over TLS on this host:port (5349 is
	// the standard port; 443 passes the strictest firewalls): the last resort, for sites
	// that let nothing but TLS out. The certificate must name Host for the parties to
	// trust it.
	TLSListen      string
	TLSCertificate *tls.Certificate
}

// Server is a running TURN relay.
type Server struct {
	cfg     Config
	creds   *Credentials
	srv     atomic.Pointer[turn.Server] // set once NewServer returns; its goroutines start before
	log     *slog.Logger
	urls    []string
	port    int
	refused atomic.Uint64

	warnMu   sync.Mutex
	lastWarn time.Time
}

// Listen starts the relay on cfg.Listen (UDP and TCP).
func Listen(cfg Config, creds *Credentials, log *slog.Logger) (*Server, error) {
	if !cfg.PublicIP.IsValid() || cfg.PublicIP.IsUnspecified() {
		return nil, errors.New("TURN relay: the public address (what relayed candidates carry) is required")
	}
	if cfg.MaxAllocations <= 0 {
		cfg.MaxAllocations = DefaultMaxAllocations
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	udp, err := net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("TURN relay: listen UDP %s: %w", cfg.Listen, err)
	}
	// TCP on the same port as UDP got.
	_, port, _ := net.SplitHostPort(udp.LocalAddr().String())
	host, _, _ := net.SplitHostPort(cfg.Listen)
	tcp, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("TURN relay: listen TCP %s: %w", net.JoinHostPort(host, port), err)
	}
	s := &Server{cfg: cfg, creds: creds, log: log.With("component", "turn")}
	var tlsLn net.Listener
	if cfg.TLSListen != "" {
		if cfg.TLSCertificate == nil {
			udp.Close()
			tcp.Close()
			return nil, errors.New("TURN relay: TURN over TLS needs a certificate (serve the switchboard with -tls-cert or -tls-lan)")
		}
		tl, err := net.Listen("tcp", cfg.TLSListen)
		if err != nil {
			udp.Close()
			tcp.Close()
			return nil, fmt.Errorf("TURN relay: listen TLS %s: %w", cfg.TLSListen, err)
		}
		tlsLn = tls.NewListener(tl, &tls.Config{Certificates: []tls.Certificate{*cfg.TLSCertificate}, MinVersion: tls.VersionTLS12})
	}
	relayHost := "0.0.0.0"
	if cfg.PublicIP.Is6() {
		relayHost = "::"
	}
	gen := func() turn.RelayAddressGenerator {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: net.IP(cfg.PublicIP.AsSlice()), Address: relayHost}
	}
	listeners := []turn.ListenerConfig{{Listener: tcp, RelayAddressGenerator: gen(), PermissionHandler: s.permit}}
	if tlsLn != nil {
		listeners = append(listeners, turn.ListenerConfig{Listener: tlsLn, RelayAddressGenerator: gen(), PermissionHandler: s.permit})
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:             Realm,
		AuthHandler:       s.auth,
		QuotaHandler:      s.quota,
		LoggerFactory:     pionlog.New(s.log),
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: gen(), PermissionHandler: s.permit}},
		ListenerConfigs:   listeners,
	})
	if err != nil {
		udp.Close()
		tcp.Close()
		if tlsLn != nil {
			tlsLn.Close()
		}
		return nil, fmt.Errorf("TURN relay: %w", err)
	}
	s.srv.Store(srv)
	urlHost := cfg.Host
	if urlHost == "" {
		urlHost = cfg.PublicIP.String()
		if cfg.PublicIP.Is6() {
			urlHost = "[" + urlHost + "]"
		}
	}
	hp := urlHost + ":" + port
	s.urls = []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
	if tlsLn != nil {
		_, tport, _ := net.SplitHostPort(tlsLn.Addr().String())
		s.urls = append(s.urls, "turns:"+urlHost+":"+tport+"?transport=tcp")
	}
	s.port, _ = strconv.Atoi(port)
	s.log.Info("TURN relay listening", "udp", udp.LocalAddr(), "tcp", tcp.Addr(), "relay_address", cfg.PublicIP, "urls", s.urls)
	return s, nil
}

// Port is the port the relay listens on (UDP and TCP).
func (s *Server) Port() int { return s.port }

// ICEServer is the relay's entry for party, with fresh credentials.
func (s *Server) ICEServer(party string) (signalling.ICEServer, error) {
	return s.creds.ICEServer(s.urls, party)
}

// Refused counts requests refused (bad credentials, quota, forbidden peers).
func (s *Server) Refused() uint64 { return s.refused.Load() }

// Allocations is how many allocations the relay holds.
func (s *Server) Allocations() int { return s.srv.Load().AllocationCount() }

// Close stops the relay and frees its allocations.
func (s *Server) Close() error { return s.srv.Load().Close() }

func (s *Server) auth(ra *turn.RequestAttributes) (string, []byte, bool) {
	party, pass, err := s.creds.Check(ra.Username)
	if err != nil || ra.Realm != Realm {
		s.refuse("TURN request refused", "from", ra.SrcAddr, "err", err, "realm", ra.Realm)
		return "", nil, false
	}
	return party, turn.GenerateAuthKey(ra.Username, ra.Realm, pass), true
}

func (s *Server) quota(_, _ string, src net.Addr) bool {
	if srv := s.srv.Load(); srv != nil && srv.AllocationCount() >= s.cfg.MaxAllocations {
		s.refuse("TURN allocation refused: the relay is full", "from", src, "max", s.cfg.MaxAllocations)
		return false
	}
	return true
}

// permit refuses peers the relay must not reach: its own host's loopback, link-local
// (cloud metadata services live there), unspecified and multicast addresses.
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	a, ok := netip.AddrFromSlice(peer)
	a = a.Unmap()
	forbidden := !ok || a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		(a.IsLoopback() && !s.cfg.AllowLoopbackPeers)
	if forbidden {
		s.refuse("TURN permission refused", "from", client, "peer", peer)
	}
	return !forbidden
}

// refuse counts a refusal and logs it, once a minute at most.
func (s *Server) refuse(msg string, args ...any) {
	n := s.refused.Add(1)
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	if now := time.Now(); now.Sub(s.lastWarn) >= time.Minute {
		s.lastWarn = now
		s.log.Warn(msg, append(args, "refused_so_far", n)...)
	}
}
