// Command switchboard is the Carebooth coordination server: clinics, clinicians, devices
// and appointments, waiting rooms, the signalling hub, the clinician web app and /metrics.
// See docs/architecture.md.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/signingkey"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard"
	"github.com/carebooth/carebooth/switchboard/deviceca"
	"github.com/carebooth/carebooth/switchboard/store"
	"github.com/carebooth/carebooth/switchboard/webapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

func defaultStateDir() string {
	// systemd's StateDirectory= sets $STATE_DIRECTORY (several paths are colon-separated).
	if d, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); d != "" {
		return d
	}
	return "state"
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen       = fs.String("listen", "127.0.0.1:8080", "listen address; plain HTTP beyond loopback is warned about at start (use -tls-cert, or a TLS proxy)")
		stateDir     = fs.String("state", defaultStateDir(), "state directory (default $STATE_DIRECTORY or ./state)")
		tlsCert      = fs.String("tls-cert", "", "TLS certificate file (PEM); with -tls-key, serve HTTPS")
		tlsKey       = fs.String("tls-key", "", "TLS private key file (PEM)")
		tlsLAN       = fs.String("tls-lan", "", "serve HTTPS with a certificate the switchboard's device CA issues for these comma-separated host names and addresses (a site LAN with no certificate of its own); devices pin the CA's fingerprint")
		secureCookie = fs.Bool("secure-cookies", false, "mark session cookies Secure without -tls-cert (behind a TLS proxy)")
		deviceTokens = fs.Bool("device-tokens", false, "on TLS, still accept device bearer tokens (a fleet moving to enrolment); without it devices on TLS authenticate by their keys only")
		metricsToken = fs.String("metrics-token", os.Getenv("CAREBOOTH_METRICS_TOKEN"), "bearer token for /metrics (default $CAREBOOTH_METRICS_TOKEN)")
		metricsFile  = fs.String("metrics-token-file", "", "file holding the bearer token for /metrics")
		sessionTTL   = fs.Duration("session-ttl", 12*time.Hour, "how long a clinician login lasts")
		origins      = fs.String("allow-origin", "", "comma-separated extra host patterns whose pages may open the signalling WebSocket and write with the session cookie")
		proxies      = fs.String("trusted-proxies", "", "comma-separated addresses and CIDR prefixes of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (e.g. 10.0.0.0/8,::1)")
		iceURLs      = fs.String("ice-urls", "", "comma-separated STUN/TURN URLs handed to both parties of every call")
		turnListen   = fs.String("turn-listen", "", "run the TURN relay on this host:port, UDP and TCP (e.g. :3478), for sites whose firewalls block UDP between the parties; each party of each call gets credentials of its own that expire")
		turnTLS      = fs.String("turn-tls-listen", "", "with -turn-listen: also serve TURN over TLS on this host:port (e.g. :5349, or :443 for the strictest firewalls) with the switchboard's certificate, the last resort")
		turnPublicIP = fs.String("turn-public-ip", "", "with -turn-listen: the IP address the parties reach the relay at (relayed candidates carry it)")
		turnHost     = fs.String("turn-host", "", "with -turn-listen: the host name put in the turn: URLs handed out (default the public IP)")
		turnTTL      = fs.Duration("turn-ttl", 4*time.Hour, "with -turn-listen: how long a call's TURN credentials last")
		demo         = fs.Bool("demo", false, "ensure demo data (clinic, clinicians, a booth, an appointment) and print how to use it")
		createAdmin  = fs.String("create-admin", "", "create admin `USER` (or reset their password) with the password read from stdin, then exit")
		fwKeys       = fs.String("firmware-keys", "", "trust file of the public keys firmware must be signed with (boothctl firmware keygen's .pub); without it, publishing firmware is refused")
		fwTargets    = fs.String("firmware-targets", "", "comma-separated targets the fleet runs, GOOS/GOARCH[:BOARD] (e.g. linux/arm64:rpi4); bundles for others are refused")
		fwMax        = fs.Int64("firmware-max-bytes", 0, "the largest firmware bundle accepted (default 1 GiB)")
		advertise    = fs.String("advertise", "auto", "announce the switchboard on the LAN by mDNS, so that booths with no switchboard.url find it: on, off, or auto (on when serving TLS beyond loopback)")
		advertiseIfs = fs.String("advertise-interfaces", "", "comma-separated network interfaces to announce on (default: every one that is up and does multicast)")
		showVersion  = fs.Bool("version", false, "print the version and exit")
		debug        = fs.Bool("debug", false, "log at debug level")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see -help", fs.Arg(0))
	}
	if *showVersion {
		fmt.Fprintln(stdout, "switchboard", version.String())
		return nil
	}

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if os.Getenv("JOURNAL_STREAM") != "" {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)

	trusted, err := switchboard.ParseTrustedProxies(*proxies)
	if err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	if *metricsFile != "" {
		b, err := os.ReadFile(*metricsFile)
		if err != nil {
			return fmt.Errorf("-metrics-token-file: %w", err)
		}
		*metricsToken = strings.TrimSpace(string(b))
	}

	if err := os.MkdirAll(*stateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	st, err := store.OpenBolt(filepath.Join(*stateDir, "switchboard.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	clock := clockwork.NewRealClock()

	if *createAdmin != "" {
		return createAdminUser(st, *createAdmin, stdin, stdout)
	}

	if *tlsLAN != "" && *tlsCert != "" {
		return errors.New("-tls-lan and -tls-cert: choose one")
	}
	scheme, host := "http", *listen
	if *tlsCert != "" || *tlsLAN != "" {
		scheme = "https"
	}
	if h, port, err := net.SplitHostPort(host); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
		host = net.JoinHostPort("localhost", port)
	}
	if *demo {
		d, err := switchboard.SeedDemo(ctx, st, clock, filepath.Join(*stateDir, "demo"), 0)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, d.Describe(scheme+"://"+host))
	}

	ca, created, err := deviceca.Open(*stateDir, "Carebooth devices", clock.Now)
	if err != nil {
		return err
	}
	if created {
		log.Info("created the device CA", "fingerprint", ca.Fingerprint())
	}

	var lanCert *tls.Certificate
	if *tlsLAN != "" {
		hosts := splitList(*tlsLAN)
		for _, h := range hosts {
			if strings.ContainsAny(h, " /:") && net.ParseIP(h) == nil {
				return fmt.Errorf("-tls-lan: %q is not a host name or an IP address", h)
			}
		}
		der, key, err := ca.IssueServer(hosts)
		if err != nil {
			return fmt.Errorf("-tls-lan: %w", err)
		}
		lanCert = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
		log.Info("serving with a LAN certificate from the device CA", "hosts", hosts, "pin", ca.Fingerprint())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg := switchboard.Config{
		Addr: *listen, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey, TLSCertificate: lanCert, SecureCookies: *secureCookie, DeviceTokens: *deviceTokens,
		MetricsToken: *metricsToken, SessionTTL: *sessionTTL, AllowedOrigins: splitList(*origins),
		TrustedProxies: trusted,
	}
	cfg.Firmware = switchboard.FirmwareConfig{Dir: filepath.Join(*stateDir, "firmware"), MaxBytes: *fwMax}
	if *fwKeys != "" {
		keys, err := signingkey.ReadPublic(*fwKeys)
		if err != nil {
			return fmt.Errorf("-firmware-keys: %w", err)
		}
		cfg.Firmware.TrustedKeys = keys
	}
	for _, t := range splitList(*fwTargets) {
		platform, board, _ := strings.Cut(t, ":")
		if !strings.Contains(platform, "/") {
			return fmt.Errorf("-firmware-targets: %q is not GOOS/GOARCH[:BOARD], e.g. linux/arm64:rpi4", t)
		}
		cfg.Firmware.Targets = append(cfg.Firmware.Targets, bundle.Target{Platform: platform, Board: board})
	}
	if urls := splitList(*iceURLs); len(urls) > 0 {
		cfg.ICEServers = []signalling.ICEServer{{URLs: urls}}
	}
	relayCert := lanCert
	if relayCert == nil && *tlsCert != "" && *turnTLS != "" {
		c, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("-turn-tls-listen: the switchboard's certificate: %w", err)
		}
		relayCert = &c
	}
	relay, err := startRelay(*turnListen, *turnTLS, *turnPublicIP, *turnHost, relayCert, *turnTTL, *stateDir, clock, log)
	if err != nil {
		return err
	}
	if relay != nil {
		defer relay.Close()
		cfg.Relay = relay.ICEServer
	}
	srv, err := switchboard.New(cfg, switchboard.Deps{
		Store: st, Clock: clock, Log: log, Registerer: reg, WebApp: webapp.Handler(), CA: ca,
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	log.Info("switchboard starting", "version", version.String(), "state", *stateDir, "url", scheme+"://"+host,
		"device_ca", ca.Fingerprint())
	adv, err := startAdvertising(*advertise, *advertiseIfs, scheme, ln.Addr(), ca.Fingerprint(), log)
	if err != nil {
		ln.Close()
		return err
	}
	if adv != nil {
		defer adv.Close() // withdraws the announcement
	}
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("sd_notify", "err", err)
	}
	err = srv.Serve(ctx, ln)
	daemon.SdNotify(false, daemon.SdNotifyStopping) //nolint:errcheck // best effort on the way out
	return err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// createAdminUser creates an admin clinician, or resets an existing one's password, with
// the first line of stdin as the password.
func createAdminUser(st store.Store, user string, stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return fmt.Errorf("-create-admin: read the password from stdin: %w (pipe it in, e.g. `switchboard -create-admin %s < password-file`)", err, user)
	}
	hash, err := switchboard.HashPassword(strings.TrimRight(line, "\r\n"), 0)
	if err != nil {
		return fmt.Errorf("-create-admin: %w", err)
	}
	c, err := st.ClinicianByUsername(user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c = store.Clinician{Username: user, Name: user, Admin: true, PasswordHash: hash}
		if err := st.CreateClinician(&c); err != nil {
			return fmt.Errorf("-create-admin: %w", err)
		}
		fmt.Fprintf(stdout, "admin %q created; log in at the switchboard's web app or with boothctl login\n", user)
	case err != nil:
		return fmt.Errorf("-create-admin: %w", err)
	default:
		if !c.Admin {
			return fmt.Errorf("-create-admin: %q exists and is not an admin; choose another username", user)
		}
		if err := st.SetPassword(c.ID, hash); err != nil {
			return fmt.Errorf("-create-admin: %w", err)
		}
		fmt.Fprintf(stdout, "password of admin %q reset\n", user)
	}
	return nil
}
