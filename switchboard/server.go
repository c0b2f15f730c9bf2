package switchboard

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/enrolment"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

// Config is the switchboard's configuration, usually from flags.
type Config struct {
	// Addr is the listen address for Run, e.g. "127.0.0.1:8080". Serving plain HTTP
	// beyond loopback is logged as a warning at start.
	Addr string
	// TLSCertFile and TLSKeyFile enable HTTPS when both are set. Session cookies are
	// then marked Secure and responses carry Strict-Transport-Security.
	TLSCertFile string
	TLSKeyFile  string
	// TLSCertificate, instead of the files, is a certificate already loaded: the one
	// the device CA issues for a site LAN (deviceca.IssueServer).
	TLSCertificate *tls.Certificate
	// SecureCookies does the same without TLS here, for a switchboard behind a
	// TLS-terminating proxy.
	SecureCookies bool
	// DeviceTokens keeps device bearer tokens working on a switchboard that serves TLS,
	// for a fleet still moving to enrolment. Without it a switchboard on TLS authenticates
	// devices only by their keys' certificates: it refuses device tokens and will not
	// issue new ones. A switchboard on plain HTTP (make run, or behind a TLS-terminating
	// proxy, where no client certificate can reach it) always accepts them.
	DeviceTokens bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For (the client's address,
	// for the login limit and logs) and X-Forwarded-Proto are believed. From any other
	// peer those headers are ignored. See ParseTrustedProxies.
	TrustedProxies []netip.Prefix
	// MetricsToken is the bearer token /metrics requires. Empty refuses every request.
	MetricsToken string
	// SessionTTL is how long a clinician login lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// AllowedOrigins are extra host patterns (path.Match syntax, e.g. "app.example.org")
	// whose browser pages may open the signalling WebSocket and make writes with the
	// session cookie. The switchboard's own host is always allowed; clients that send no
	// Origin (booths) are not checked on the WebSocket.
	AllowedOrigins []string
	// ICEServers are handed to both parties of every call.
	ICEServers []signalling.ICEServer
	// Relay, if set, gives each party of each call TURN credentials of its own (the
	// switchboard's turnrelay.Server.ICEServer).
	Relay func(party string) (signalling.ICEServer, error)
	// PingInterval is how often a WebSocket peer is pinged; 0 means 15 seconds. A peer
	// that does not answer within PingInterval is disconnected.
	PingInterval time.Duration
	// BcryptCost is the cost for new password hashes; 0 means bcrypt.DefaultCost.
	BcryptCost int
	// DeviceLimits bound what one device can make the switchboard store, log and fan out;
	// the zero value is DefaultDeviceLimits.
	DeviceLimits DeviceLimits
	// ConnLimits are the HTTP timeouts and the cap on signalling connections per
	// credential; the zero value is DefaultConnLimits.
	ConnLimits ConnLimits
	// Firmware is where published firmware is kept and which keys it must be signed
	// with; without a directory and a key, publishing is refused.
	Firmware FirmwareConfig
}

// FirmwareConfig is the switchboard's side of firmware releases (docs/firmware.md).
type FirmwareConfig struct {
	// Dir holds the published bundles, one file per release (under the state directory).
	Dir string
	// TrustedKeys are the public keys a bundle must be signed with (the devices' trust
	// file, firmware/signingkey.ReadPublic).
	TrustedKeys []ed25519.PublicKey
	// MaxBytes bounds an upload; 0 means bundle.DefaultMaxSize.
	MaxBytes int64
	// Targets, when set, are the fleet's targets: a bundle for any other is refused.
	Targets []bundle.Target
}

// Deps are the switchboard's collaborators.
type Deps struct {
	Store store.Store     // required
	Clock clockwork.Clock // nil means the real clock
	Log   *slog.Logger    // nil discards logs
	// Registerer receives the switchboard's metrics; /metrics serves Gatherer. When
	// Registerer is nil a private registry is used for both; when Gatherer is nil,
	// Registerer must also be a prometheus.Gatherer (a *prometheus.Registry is).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// WebApp is mounted at "/"; nil serves 404 there.
	WebApp http.Handler
	// CA issues enrolled devices their certificates; nil: devices cannot enrol by
	// activation code (they use tokens).
	CA *deviceca.CA
}

// eventKeyTTL is how long the idempotency key of an applied booth event is remembered.
const eventKeyTTL = 90 * 24 * time.Hour

// Server is a switchboard. Build it with New, serve it with Run or Serve (or mount
// Handler yourself), stop it with Close.
type Server struct {
	cfg      Config
	store    store.Store
	clock    clockwork.Clock
	log      *slog.Logger
	metrics  *metrics
	gatherer prometheus.Gatherer
	handler  http.Handler
	hub      *hub.Hub
	limiter  *loginLimiter
	sockets  *sockets
	// ca and enrolments enrol devices by activation code (ca nil: not at all).
	ca         *deviceca.CA
	enrolments *enrolment.Registry
	// verifyPassword is bcrypt.CompareHashAndPassword; tests count the calls.
	verifyPassword func(hash, password []byte) error
	// dummyHash is compared against when a login names an unknown user, so that
	// failure takes as long as a wrong password.
	dummyHash []byte
	// configMu orders remote config puts, so each device's pushes queue in the order
	// its documents were stored.
	configMu sync.Mutex
}

// New builds a switchboard from cfg and deps.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Store == nil {
		return nil, errors.New("switchboard: Deps.Store is required")
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 15 * time.Second
	}
	cfg.ConnLimits = cfg.ConnLimits.withDefaults()
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("switchboard: set both the TLS certificate and key files, or neither")
	}
	if cfg.TLSCertificate != nil && cfg.TLSCertFile != "" {
		return nil, errors.New("switchboard: give the TLS certificate as files or loaded, not both")
	}
	if deps.Clock == nil {
		deps.Clock = clockwork.NewRealClock()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Registerer == nil {
		reg := prometheus.NewRegistry()
		deps.Registerer, deps.Gatherer = reg, reg
	}
	if deps.Gatherer == nil {
		g, ok := deps.Registerer.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("switchboard: Deps.Gatherer is required when Deps.Registerer is not a prometheus.Gatherer")
		}
		deps.Gatherer = g
	}
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("switchboard: register metrics: %w", err)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a real password"), cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("switchboard: bcrypt cost %d: %w", cfg.BcryptCost, err)
	}
	s := &Server{
		cfg:       cfg,
		store:     deps.Store,
		clock:     deps.Clock,
		log:       deps.Log.With("component", "switchboard"),
		metrics:   m,
		gatherer:  deps.Gatherer,
		limiter:   newLoginLimiter(deps.Clock, defaultLoginLimits),
		sockets:   newSockets(deps.Clock, cfg.ConnLimits),
		dummyHash: dummy,
		ca:        deps.CA,

		enrolments: enrolment.New(deps.Clock),

		verifyPassword: bcrypt.CompareHashAndPassword,
	}
	hm, err := hub.NewMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("switchboard: register metrics: %w", err)
	}
	s.hub, err = hub.New(hub.Config{
		DeviceLimits:   cfg.DeviceLimits,
		PingInterval:   cfg.PingInterval,
		ICEServers:     cfg.ICEServers,
		Relay:          cfg.Relay,
		AllowedOrigins: cfg.AllowedOrigins,
	}, hub.Deps{Store: deps.Store, Clock: deps.Clock, Log: s.log, Metrics: hm, Audit: s.appendAudit})
	if err != nil {
		return nil, fmt.Errorf("switchboard: %w", err)
	}
	if err := deps.Registerer.Register(fleetCollector{s.hub}); err != nil {
		return nil, fmt.Errorf("switchboard: register fleet metrics: %w", err)
	}
	s.handler = s.buildHandler(deps.WebApp)
	// A booth resends an unacknowledged event when its link returns; keys older than this
	// can no longer come back.
	if n, err := s.store.PruneEventKeys(s.clock.Now().Add(-eventKeyTTL)); err != nil {
		s.log.Warn("pruning applied event keys", "err", err)
	} else if n > 0 {
		s.log.Info("pruned applied event keys", "count", n, "older_than", eventKeyTTL.String())
	}
	return s, nil
}

// Handler returns the switchboard's HTTP handler: the API, /metrics and the web app.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on Config.Addr and serves until ctx is cancelled.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// servesTLS reports whether Serve speaks HTTPS.
func (s *Server) servesTLS() bool { return s.cfg.TLSCertFile != "" || s.cfg.TLSCertificate != nil }

// TLSConfig is the TLS configuration the switchboard serves with (certificates aside):
// an enrolled device may present the client certificate its device CA issued, which
// then authenticates it in place of a token. Clinicians' browsers present none.
func (s *Server) TLSConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.ca != nil {
		c.ClientAuth, c.ClientCAs = tls.VerifyClientCertIfGiven, s.ca.Pool()
	}
	return c
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully and closes the
// server. A cancelled context is a clean exit (nil error).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	lim := s.cfg.ConnLimits
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	hs.TLSConfig = s.TLSConfig()
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCertificate != nil {
			hs.TLSConfig.Certificates = []tls.Certificate{*s.cfg.TLSCertificate}
		}
		if s.servesTLS() {
			errc <- hs.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", s.servesTLS())
	if !s.servesTLS() {
		if warning := plainHTTPWarning(ln.Addr()); warning != "" {
			s.log.Warn(warning, "addr", ln.Addr().String())
		}
	}
	var err error
	select {
	case err = <-errc:
		err = fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Close() // WebSockets are hijacked: Shutdown does not wait for them
		if serr := hs.Shutdown(shutCtx); serr != nil {
			s.log.Warn("shutdown", "err", serr)
			hs.Close()
		}
		cancel()
		<-errc
	}
	s.Close()
	return err
}

// Close disconnects every signalling connection and waits for their goroutines. It does
// not close the store, which belongs to the caller. It is safe to call more than once.
func (s *Server) Close() error {
	s.hub.Close()
	return nil
}

// plainHTTPWarning says what is wrong with serving plain HTTP on addr, or "" when addr is
// loopback only.
func plainHTTPWarning(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return "" // not TCP/IP: a test's or a socket-activated listener
	}
	a := ap.Addr().Unmap()
	switch {
	case a.IsLoopback():
		return ""
	case a.IsUnspecified():
		return "SERVING PLAIN HTTP ON ALL INTERFACES: passwords, session and device tokens cross the network unencrypted; " +
			"set -tls-cert and -tls-key, or listen on 127.0.0.1 behind a TLS proxy"
	default:
		return "SERVING PLAIN HTTP BEYOND LOOPBACK: passwords, session and device tokens cross the network unencrypted; " +
			"set -tls-cert and -tls-key, or listen on 127.0.0.1 behind a TLS proxy"
	}
}

// deviceTokens reports whether devices may authenticate with bearer tokens: on plain
// HTTP, or on TLS when Config.DeviceTokens says so.
func (s *Server) deviceTokens() bool {
	tls := s.cfg.TLSCertificate != nil || (s.cfg.TLSCertFile != "" && s.cfg.TLSKeyFile != "")
	return !tls || s.cfg.DeviceTokens
}
