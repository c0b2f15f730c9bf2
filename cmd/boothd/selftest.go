package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/firmware/health"
	"github.com/carebooth/carebooth/logring"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/signalling"
)

// Self-test thresholds: below minDiskFree the outbox and firmware downloads are at risk;
// above maxTemp a Pi throttles its CPU and the call's video suffers.
const (
	minDiskFree = 100 << 20
	maxTemp     = 80.0
)

// ringLines is how many log lines boothd keeps in memory for IT (GET .../logs).
const ringLines = signalling.MaxLogLines

// diagnostics is boothd's answer to IT's self-test and log requests.
type diagnostics struct {
	ring   *logring.Ring
	checks *health.Runner
}

var _ booth.Diagnostics = (*diagnostics)(nil)

// selfTestDeps are what the self-test looks at.
type selfTestDeps struct {
	cfg     config.Config
	client  *http.Client // the device's client for the switchboard
	health  *boothHealth
	screen  *boothScreen
	speaker string // "" when no speaker is open
	// busy reports whether a call has (or is about to have) the camera and microphone.
	busy func() bool
	log  *slog.Logger
}

func newDiagnostics(ring *logring.Ring, d selfTestDeps) (*diagnostics, error) {
	capCfg := capture.Config{Video: d.cfg.Media.Video, Audio: d.cfg.Media.Audio,
		Width: d.cfg.Media.Width, Height: d.cfg.Media.Height, FPS: d.cfg.Media.FPS}
	reachable := health.Reachable(d.client, httpsURL(d.cfg.Switchboard.URL)+"/api/v1/me")
	media := func(probe func(context.Context, capture.Config, *slog.Logger) (string, error)) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			if d.busy() {
				return "not opened: a call has it, or is about to", nil
			}
			found, err := probe(ctx, capCfg, d.log)
			if errors.Is(err, capture.ErrNotProbed) {
				return "off in the config", nil
			}
			return found, err
		}
	}
	r, err := health.NewRunner(nil, d.log,
		health.Check{Name: "switchboard", Timeout: 10 * time.Second, Probe: func(ctx context.Context) (string, error) {
			start := time.Now()
			if err := reachable(ctx); err != nil {
				return "", err
			}
			return fmt.Sprintf("answers this device's credentials in %d ms", time.Since(start).Milliseconds()), nil
		}},
		health.Check{Name: "camera", Timeout: 8 * time.Second, Probe: media(capture.ProbeCamera)},
		health.Check{Name: "microphone", Timeout: 8 * time.Second, Probe: media(capture.ProbeMicrophone)},
		health.Check{Name: "speaker", Timeout: time.Second, Probe: func(context.Context) (string, error) {
			switch {
			case d.cfg.Speaker.Device == config.SpeakerOff:
				return "off in the config", nil
			case d.speaker == "":
				return "", errors.New("no speaker open: is the sound card plugged in? (speaker.device in the config)")
			}
			return d.speaker, nil
		}},
		health.Check{Name: "screen", Timeout: time.Second, Probe: func(context.Context) (string, error) {
			switch {
			case d.screen == nil && d.cfg.Screen.Backend == config.ScreenOff:
				return "off in the config", nil
			case d.screen == nil:
				return "", errors.New("no screen opened")
			case d.screen.display.Frames() == 0:
				return "", fmt.Errorf("%s opened, but nothing drawn yet", d.screen.describe())
			}
			return fmt.Sprintf("%s, %d frames drawn", d.screen.describe(), d.screen.display.Frames()), nil
		}},
		health.Check{Name: "disk", Timeout: 2 * time.Second, Probe: func(context.Context) (string, error) {
			n, err := d.health.diskFree(d.health.stateDir)
			if err != nil {
				return "", fmt.Errorf("free space in %s: %w", d.health.stateDir, err)
			}
			found := fmt.Sprintf("%d MiB free in %s", n>>20, d.health.stateDir)
			if n < minDiskFree {
				return found, fmt.Errorf("%s, under %d MiB: the outbox and updates need room", found, minDiskFree>>20)
			}
			return found, nil
		}},
		health.Check{Name: "temperature", Timeout: time.Second, Probe: func(context.Context) (string, error) {
			c, ok := d.health.temperature()
			switch {
			case !ok:
				return "no sensor (not a Raspberry Pi)", nil
			case c >= maxTemp:
				return "", fmt.Errorf("%.1f °C: too hot, the CPU throttles; check the booth's ventilation", c)
			}
			return fmt.Sprintf("%.1f °C", c), nil
		}},
	)
	if err != nil {
		return nil, err
	}
	return &diagnostics{ring: ring, checks: r}, nil
}

// SelfTest runs every check at once.
func (g *diagnostics) SelfTest(ctx context.Context) []signalling.CheckResult {
	res := g.checks.Results(ctx)
	out := make([]signalling.CheckResult, len(res))
	for i, r := range res {
		out[i] = signalling.CheckResult{Name: r.Name, OK: r.Err == nil, Detail: r.Detail,
			TookMs: float64(r.Took.Microseconds()) / 1000}
		if r.Err != nil {
			out[i].Detail = r.Err.Error()
		}
		out[i].Detail = truncate(out[i].Detail, 500)
	}
	return out
}

// RecentLogs returns the ring's last n lines.
func (g *diagnostics) RecentLogs(n int) []signalling.LogLine {
	lines := g.ring.Last(n)
	out := make([]signalling.LogLine, len(lines))
	for i, l := range lines {
		out[i] = signalling.LogLine{Time: l.Time, Text: l.Text}
	}
	return out
}
