package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/booth/mediacall"
	"github.com/carebooth/carebooth/booth/present"
	"github.com/carebooth/carebooth/firmware/update"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/logring"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/netwatch"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/provisioning/discovery"
	"github.com/carebooth/carebooth/provisioning/identity"
	"github.com/carebooth/carebooth/provisioning/remoteconfig"
	"github.com/carebooth/carebooth/signalling"

	// mediadevices' process-wide driver registry is filled here, in cmd, and nowhere else.
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/camera"
	_ "github.com/pion/mediadevices/pkg/driver/microphone"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if errors.Is(err, remoteconfig.ErrRestart) {
		// A remote config to try or to roll back from: start again as the same process, so
		// `make run`'s terminal and systemd's unit keep it; if that fails, exit with
		// EX_TEMPFAIL and let systemd's Restart=always start it.
		fmt.Fprintln(os.Stderr, "boothd: restarting for a remote config change")
		if exe, xerr := os.Executable(); xerr == nil {
			xerr = syscall.Exec(exe, os.Args, os.Environ())
			fmt.Fprintln(os.Stderr, "boothd: restart:", xerr)
		}
		os.Exit(exitRestart)
	}
	if errors.Is(err, update.ErrRestart) {
		// A release was installed, or the committed slot must run: the unit (and make
		// run) restart on this status, into the slot the link now names.
		fmt.Fprintln(os.Stderr, "boothd: restarting into the selected firmware slot")
		os.Exit(update.RestartExitCode)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "boothd:", err)
		os.Exit(1)
	}
}

// exitRestart is boothd's exit status when it could not re-execute itself to apply a
// remote config (EX_TEMPFAIL); systemd restarts it.
const exitRestart = 75

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("boothd", flag.ContinueOnError)
	configPath := fs.String("config", "/etc/carebooth/boothd.toml", "config file (see provisioning/config/boothd.example.toml)")
	keyboard := fs.Bool("keyboard", button.IsTerminal(int(os.Stdin.Fd())), "read simulated buttons from the terminal (default: when stdin is a terminal)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	trialTimeout := fs.Duration("remote-config-trial", remoteconfig.TrialTimeout, "how long a new remote config has to reach the switchboard before it is rolled back (for tests)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println("boothd", version.String())
		return nil
	}

	base, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	// The file, then the remote config document it runs with (committed, or on trial).
	if err := os.MkdirAll(base.State.Dir, 0o700); err != nil {
		return fmt.Errorf("state.dir: %w", err)
	}
	baseLog, err := newLogger(base.Log, os.Stderr, nil)
	if err != nil {
		return err
	}
	remote := remoteconfig.New(base.State.Dir, baseLog)
	boot, err := remote.Boot(base)
	if err != nil {
		return err
	}
	cfg := boot.Config
	// The last lines logged are kept in memory too, for IT to read from the switchboard.
	ring, err := logring.New(ringLines, signalling.MaxLogLineBytes, nil)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg.Log, os.Stderr, ring.Handler(slog.LevelInfo))
	if err != nil {
		return err
	}
	if boot.Running.Version != 0 {
		logger.Info("running a remote config", "version", boot.Running.Version, "trial", boot.Trial)
	}
	remoteCtl := remoteconfig.NewController(remote, base, boot, clockwork.NewRealClock(), *trialTimeout)
	var token string
	if cfg.Switchboard.TokenFile != "" {
		if token, err = config.ReadSecret("switchboard.token_file", cfg.Switchboard.TokenFile); err != nil {
			return err
		}
	}
	var metricsToken string
	if cfg.Metrics.TokenFile != "" {
		if metricsToken, err = config.ReadSecret("metrics.token_file", cfg.Metrics.TokenFile); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.State.Dir, 0o700); err != nil {
		return fmt.Errorf("state.dir: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// The speaker: calls hand their Opus packets to the playout, which the speaker pulls.
	snd, err := newSound(cfg.Speaker, logger)
	if err != nil {
		return err
	}
	defer snd.Close()
	reg.MustRegister(snd.playout.Collector())

	engine, err := call.NewEngine(call.EngineConfig{Logger: logger, OnAudioPacket: snd.playout.Push})
	if err != nil {
		return fmt.Errorf("media engine: %w", err)
	}
	callMetrics, err := call.NewMetrics(reg)
	if err != nil {
		return err
	}
	scr, err := openScreen(cfg.Screen, cfg.Device, clockwork.NewRealClock(), logger)
	if err != nil {
		return err
	}
	defer scr.Close()
	mediaDevices := mediadevices.EnumerateDevices()
	problem := mediaProblem(cfg.Media, cfg.Speaker.Device != config.SpeakerOff, snd.speaker != nil, mediaDevices)
	camera, mic := capture.Available(capture.Config{Video: cfg.Media.Video, Audio: cfg.Media.Audio}, mediaDevices)
	realClock := clockwork.NewRealClock()
	health := &boothHealth{clock: realClock, started: realClock.Now(), camera: camera, mic: mic, speaker: snd.speaker != nil,
		problem: problem, stateDir: cfg.State.Dir, read: osReadFile, diskFree: statfsFree}
	if problem != "" {
		logger.Error("fault shown on the booth", "problem", problem)
	}
	scr.setProblem(problem)
	caller, err := mediacall.New(engine, mediacall.Config{OnVideoFrame: scr.onVideo(), Metrics: callMetrics, Capture: captureConfig(cfg.Media, scr)}, nil, logger)
	if err != nil {
		return err
	}

	var buttons button.Source
	buttonsDesc := "simulated, none attached (run with -keyboard on a terminal to press them)"
	if *keyboard {
		term, err := button.OpenTerminal()
		if err != nil {
			return fmt.Errorf("-keyboard: %w", err)
		}
		defer term.Close() // restores the terminal's mode
		buttons = button.NewKeyboard(term, nil)
		buttonsDesc = "simulated from the keyboard: j join, e end, E hold end, h help, m mute, +/- volume"
	}
	// GPIO buttons and light when the config asks for them (devices.go).
	chips := &gpioChips{}
	defer chips.Close()
	gpioSrc, gpioDesc, err := gpioButtons(cfg.Buttons, chips, logger)
	if err != nil {
		return err
	}
	if gpioSrc != nil && buttons != nil {
		buttons, buttonsDesc = button.Merge(gpioSrc, buttons), gpioDesc+"; and "+buttonsDesc
	} else if gpioSrc != nil {
		buttons, buttonsDesc = gpioSrc, gpioDesc
	}
	statusLight, lightDesc, err := openLight(cfg.Light, chips, logger)
	if err != nil {
		return err
	}
	if scr.drawLight(statusLight) {
		lightDesc += "; drawn on the virtual screen"
	}
	staffCall, staffDesc, err := openStaffCall(cfg.StaffCall, chips)
	if err != nil {
		return err
	}
	// The device's identity key, created on first start; an enrolled device authenticates
	// with it (provisioning/identity).
	if err := os.MkdirAll(cfg.State.Dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	id, created, err := identity.LoadOrCreate(cfg.State.Dir)
	if err != nil {
		return err
	}
	if created {
		logger.Info("created the device identity key", "fingerprint", id.Fingerprint())
	}
	logger.Info("boothd starting",
		"screen", scr.describe(), "identity", id.Fingerprint(),
		"version", version.String(), "device", cfg.Device.Name, "config", *configPath,
		"buttons", buttonsDesc, "light", lightDesc, "staff_call", staffDesc,
		"camera", describeSource(cfg.Media.Video, "test picture"),
		"microphone", describeSource(cfg.Media.Audio, "test tone"),
		"devices", deviceLabels())

	// Without a token the device authenticates with its key's certificate, enrolling
	// first if it has none (the activation code on the screen).
	// The speaker and prompts run from here, so an unenrolled booth says its code; every
	// return below waits for them (fail).
	rctx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	g, gctx := errgroup.WithContext(rctx)
	fail := func(err error) error {
		cancelRun()
		g.Wait() //nolint:errcheck // err is the one to report
		return err
	}
	snd.start(gctx, g)

	// mDNS on the site's LAN: browsed from the start (a booth with no switchboard.url finds
	// it so), announced once the booth runs.
	var lan *discovery.Table
	var ifaces []net.Interface
	if cfg.Discovery.Enabled {
		if ifaces, err = discovery.Interfaces(cfg.Discovery.Interfaces); err != nil {
			if cfg.Switchboard.URL == "" {
				return fail(fmt.Errorf("discovery (switchboard.url is empty, so the switchboard is found by mDNS): %w", err))
			}
			logger.Warn("mDNS discovery is off", "err", err)
		} else {
			lan = discovery.NewTable(discovery.TableConfig{})
			br, err := discovery.NewBrowser(discovery.BrowserConfig{Interfaces: ifaces, Logger: logger}, lan)
			if err != nil {
				return fail(err)
			}
			g.Go(func() error { return br.Run(gctx) })
		}
	}
	foundByMDNS := cfg.Switchboard.URL == ""
	var httpClient *http.Client
	var rfSkip func(discovery.Peer) bool
	if foundByMDNS {
		// Found on the LAN: enrol (or connect) through the switchboard found; one that is
		// refused at the first contact is left out and the search goes on.
		rf := &refusals{log: logger}
		rfSkip = rf.skip
		if c, err := enrolledClient(cfg.State.Dir, id); err == nil {
			rf.client = c
		}
		configPin := cfg.Switchboard.CAFingerprint
		for {
			f, err := findSwitchboard(gctx, lan, pinnedCA(cfg.State.Dir, configPin), cfg.State.Dir, rf.skip, scr, logger)
			if err != nil {
				return fail(fmt.Errorf("find the switchboard on the LAN: %w", err))
			}
			cfg.Switchboard.URL, cfg.Switchboard.CAFingerprint = f.url, configPin
			if configPin == "" {
				cfg.Switchboard.CAFingerprint = f.ca // pinned: what the approval and the TLS chain must name
			}
			httpClient, err = enrolled(gctx, enrolment{base: f.url, pin: cfg.Switchboard.CAFingerprint,
				stateDir: cfg.State.Dir, name: cfg.Device.Name, id: id, scr: scr, say: snd.prompts.SayText, log: logger,
				anyHost: true})
			if errors.Is(err, errRefusedAtContact) {
				rf.refuse(f.url, err)
				continue
			}
			if err != nil {
				return fail(err)
			}
			break
		}
	} else if token == "" {
		httpClient, err = enrolled(gctx, enrolment{base: cfg.Switchboard.URL, pin: cfg.Switchboard.CAFingerprint,
			stateDir: cfg.State.Dir, name: cfg.Device.Name, id: id, scr: scr, say: snd.prompts.SayText, log: logger})
		if err != nil {
			return fail(err)
		}
	}

	// Firmware: a release on trial is checked (and committed or rolled back) before the
	// booth starts; the update loop then runs beside it.
	hc := deviceClient(httpClient, token)
	var running *booth.Booth // set below; the loop runs only once it is
	idle := func() bool { return running != nil && running.Snapshot().State == booth.Idle }
	upd, err := newUpdater(cfg, hc, idle, logger)
	if err != nil {
		return fail(err)
	}
	if upd != nil {
		checks, err := healthChecks(cfg, hc, problem, scr, logger)
		if err != nil {
			return fail(err)
		}
		// The screen draws during the trial, so that "screen drawn" is checked for real.
		stopScreen := scr.showAlone(gctx, screen.View{Kind: screen.Idle})
		err = upd.Start(ctx, checks)
		stopScreen()
		if errors.Is(err, update.ErrRestart) {
			return fail(err)
		} else if err != nil {
			logger.Error("firmware slots; updates are off until this is fixed", "err", err)
			upd = nil
		}
	}

	// IT's self-test: the camera and microphone are probed only while no call has them.
	busy := func() bool {
		if running == nil {
			return true
		}
		st := running.Snapshot().State
		return st != booth.Idle && st != booth.JoinWindow
	}
	diag, err := newDiagnostics(ring, selfTestDeps{cfg: cfg, client: hc, health: health, screen: scr,
		speaker: snd.describe(), busy: busy, log: logger})
	if err != nil {
		return fail(err)
	}
	// Network changes restart a call's ICE at once (a Wi-Fi roam, a new lease).
	var netChanges <-chan struct{}
	if nw, err := netwatch.Watch(); err != nil {
		logger.Warn("not watching the network; a call notices a change only when its path breaks", "err", err)
	} else {
		defer nw.Close()
		netChanges = nw.C
	}
	var again func() string
	if foundByMDNS {
		again = rediscover(lan, pinnedCA(cfg.State.Dir, cfg.Switchboard.CAFingerprint), cfg.State.Dir, rfSkip, logger)
	}
	b, err := booth.New(booth.Config{
		SwitchboardURL: cfg.Switchboard.URL,
		Rediscover:     again,
		Token:          token,
		DeviceName:     cfg.Device.Name,
		JoinMode:       cfg.Device.JoinMode,
		JoinWindow:     cfg.Device.JoinWindow,
		Role:           cfg.Device.Role,
		StaffCall:      staffCall != nil,
		StateDir:       cfg.State.Dir,
	}, booth.Deps{
		Caller:       caller,
		HTTPClient:   httpClient,
		Buttons:      snd.withVolume(scr.withButtons(buttons)),
		Logger:       logger,
		Registerer:   reg,
		RemoteConfig: remoteCtl,
		Health:       health,
		Diagnostics:  diag,
		// The host's network changes, for ICE restarts.
		NetworkChanges: netChanges,
	})
	if err != nil {
		return fail(err)
	}
	defer b.Close()
	running = b
	if creds, ok, err := siteCredentials(cfg.State.Dir, id); err != nil {
		return fail(err)
	} else if ok {
		if err := startSite(gctx, g, cfg, creds, ifaces, b, problem != "", logger); err != nil {
			return fail(err)
		}
	}

	ln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return fail(fmt.Errorf("metrics.listen: %w", err))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", booth.MetricsHandler(reg, metricsToken))
	// Scrapes are small GETs: a client slower than this is not a scraper.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}

	snd.announce(gctx, g, b)
	g.Go(func() error { return b.Run(gctx) })
	g.Go(func() error { return remoteCtl.Run(gctx) })
	scr.start(gctx, g, b)
	g.Go(func() error { return statusLight.Run(gctx) })
	g.Go(func() error { return present.FollowLight(gctx, b, statusLight, problem != "") })
	if staffCall != nil {
		snaps, stop := b.Subscribe()
		defer stop()
		g.Go(func() error {
			return followStaffCall(gctx, snaps, staffCall, cfg.StaffCall.ActiveLow, logger.With("component", "staff_call"))
		})
	}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	g.Go(func() error { return notifySystemd(gctx, b, logger) })
	if upd != nil {
		g.Go(func() error { return upd.Run(gctx) })
	}
	err = g.Wait()
	logger.Info("boothd stopped", "err", err)
	return err
}

// notifySystemd tells systemd the daemon is ready and, when the unit has WatchdogSec=
// (WATCHDOG_USEC is set), pings the watchdog at half its interval for as long as the booth's
// loop answers, so a hung booth is restarted. Outside systemd the notifications do nothing.
func notifySystemd(ctx context.Context, b *booth.Booth, logger *slog.Logger) error {
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		logger.Warn("sd_notify ready", "err", err)
	}
	defer daemon.SdNotify(false, daemon.SdNotifyStopping)
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, interval/4)
			err := b.Ping(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					logger.Error("booth loop is not answering; not pinging the watchdog", "err", err)
				}
				continue
			}
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}

// newLogger logs JSON under systemd (journald sets JOURNAL_STREAM) and text on a terminal,
// unless log.format says otherwise, and to also when it is not nil.
func newLogger(c config.Log, w io.Writer, also slog.Handler) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	format := c.Format
	if format == config.LogAuto {
		format = config.LogText
		if os.Getenv("JOURNAL_STREAM") != "" {
			format = config.LogJSON
		}
	}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == config.LogJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	if also != nil {
		h = logring.Tee(h, also)
	}
	return slog.New(h), nil
}

func describeSource(v, test string) string {
	switch v {
	case config.SourceTest:
		return test + " (simulated)"
	case config.SourceOff:
		return "off"
	case config.SourceAuto:
		return "first real device, opened per call"
	}
	return v + ", opened per call"
}

// deviceLabels lists the capture devices mediadevices' drivers found.
func deviceLabels() string {
	var labels []string
	for _, d := range mediadevices.EnumerateDevices() {
		kind := "other"
		switch d.Kind {
		case mediadevices.VideoInput:
			kind = "camera"
		case mediadevices.AudioInput:
			kind = "microphone"
		}
		labels = append(labels, kind+" "+d.Label)
	}
	return strings.Join(labels, ", ")
}

// captureConfig is what each call's camera and microphone are opened with; the screen (if
// any) gets the camera's frames for the self-view.
func captureConfig(m config.Media, scr *boothScreen) capture.Config {
	return capture.Config{
		Video:        m.Video,
		Audio:        m.Audio,
		Width:        m.Width,
		Height:       m.Height,
		FPS:          m.FPS,
		VideoBitrate: m.VideoBitrateKbps * 1000,
		OnSelfFrame:  scr.onSelf(),
	}
}
