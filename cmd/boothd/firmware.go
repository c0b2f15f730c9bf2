package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"time"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/health"
	"github.com/carebooth/carebooth/firmware/signingkey"
	"github.com/carebooth/carebooth/firmware/slot"
	"github.com/carebooth/carebooth/firmware/update"
	"github.com/carebooth/carebooth/firmware/version"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

// deviceClient is the booth's HTTP client for the switchboard: the mTLS client of an
// enrolled device, or one that sends its token.
func deviceClient(enrolled *http.Client, token string) *http.Client {
	if enrolled != nil {
		return enrolled
	}
	return update.BearerClient(nil, token)
}

// newUpdater builds the firmware update loop, or nil when firmware.trust_file is unset.
//
// idle says whether the booth may be updated now (no appointment window open, no call).
func newUpdater(cfg config.Config, hc *http.Client, idle func() bool, logger *slog.Logger) (*update.Updater, error) {
	fc := cfg.Firmware
	if fc.TrustFile == "" {
		return nil, nil
	}
	keys, err := signingkey.ReadPublic(fc.TrustFile)
	if err != nil {
		return nil, fmt.Errorf("firmware.trust_file: %w", err)
	}
	dirs, err := slot.NewDirs(fc.SlotsDir)
	if err != nil {
		return nil, fmt.Errorf("firmware.slots_dir: %w", err)
	}
	mgr, err := slot.New(slot.Config{StatePath: filepath.Join(cfg.State.Dir, "slots.json"), Switcher: dirs, Store: dirs, Logger: logger})
	if err != nil {
		return nil, err
	}
	api := *hc
	api.Timeout = 30 * time.Second
	sb, err := apiclient.New(httpsURL(cfg.Switchboard.URL), "", &api)
	if err != nil {
		return nil, fmt.Errorf("switchboard.url: %w", err)
	}
	return update.New(update.Config{
		Target:       bundle.Target{Platform: runtime.GOOS + "/" + runtime.GOARCH, Board: fc.Board},
		Running:      version.String(),
		Keys:         keys,
		Dir:          filepath.Join(cfg.State.Dir, "firmware"),
		PollInterval: fc.PollInterval,
	}, update.Deps{Switchboard: sb, HTTP: hc, Slots: mgr, Idle: idle, Log: logger})
}

// healthChecks are what a release on trial must pass before it is committed: the
// switchboard answers this device's credentials, the camera and microphone the config
// names are there, and the screen has drawn a frame (boothd shows one during the trial).
func healthChecks(cfg config.Config, hc *http.Client, mediaProblem string, scr *boothScreen, logger *slog.Logger) (*health.Runner, error) {
	return health.NewRunner(nil, logger,
		health.Check{Name: "switchboard", Timeout: 20 * time.Second, Run: health.Reachable(hc, httpsURL(cfg.Switchboard.URL)+"/api/v1/me")},
		health.Check{Name: "camera and microphone", Timeout: time.Second, Run: func(context.Context) error {
			if mediaProblem != "" {
				return errors.New(mediaProblem)
			}
			return nil
		}},
		health.Check{Name: "screen", Timeout: 10 * time.Second, Run: func(ctx context.Context) error {
			if scr == nil {
				return errors.New("no screen opened")
			}
			return scr.drawn(ctx)
		}},
	)
}
