package main

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"os"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/booth/present"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/hw/light"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/hw/screen/fbdev"
	"github.com/carebooth/carebooth/hw/screen/virtual"
	"github.com/carebooth/carebooth/provisioning/config"
)

// boothScreen is the screen as boothd runs it: the panel, the display loop drawing on it,
// the virtual screen's server and buttons when that is the panel, and what package present
// needs to show the booth's state on it. A nil *boothScreen is no screen ("off"); its
// methods do nothing.
type boothScreen struct {
	display *screen.Display
	virtual *virtual.Screen // nil unless the virtual screen
	desc    string
	close   func() error
	view    present.ScreenConfig // the fault to show, the join mode, the clock

	// The virtual screen's server runs once, from the first screen shown (the
	// activation screen, or start) until Run ends.
	virtualStop func()
	virtualDone chan error
}

// openScreen opens the panel cfg chooses. "auto" is the framebuffer when cfg.Device
// exists, the virtual screen otherwise; if auto's virtual screen cannot listen (another
// boothd has the port) the booth runs without a screen rather than not at all.
func openScreen(cfg config.Screen, dev config.Device, clock clockwork.Clock, logger *slog.Logger) (*boothScreen, error) {
	backend := cfg.Backend
	if backend == config.ScreenAuto {
		backend = config.ScreenVirtual
		if _, err := os.Stat(cfg.Device); err == nil {
			backend = config.ScreenFbdev
		}
	}
	s := &boothScreen{view: present.ScreenConfig{AutoJoin: dev.JoinMode == device.JoinAuto, Location: time.Local,
		Clock: clock, Logger: logger}}
	var panel screen.Panel
	switch backend {
	case config.ScreenOff:
		return nil, nil
	case config.ScreenFbdev:
		fb, err := fbdev.Open(cfg.Device)
		if err != nil {
			return nil, fmt.Errorf("screen.device: %w (boothd's user needs the video group; or set screen.backend)", err)
		}
		panel, s.close = fb, fb.Close
		s.desc = fmt.Sprintf("framebuffer %s, %v", cfg.Device, fb.Format())
	case config.ScreenVirtual:
		v, err := virtual.New(virtual.Config{Listen: cfg.Listen, Clock: clock, Logger: logger})
		if err != nil && cfg.Backend == config.ScreenAuto {
			logger.Warn("no screen: the virtual screen cannot listen; set screen.listen to a free port", "err", err)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("screen.listen: %w", err)
		}
		panel, s.close, s.virtual = v, v.Close, v
		s.desc = "virtual, " + v.URL()
	default:
		return nil, fmt.Errorf("screen.backend %q: not built", backend)
	}
	d, err := screen.NewDisplay(panel, screen.DisplayConfig{Clock: clock, Logger: logger})
	if err != nil {
		s.close()
		return nil, err
	}
	s.display = d
	return s, nil
}

// Close releases the panel.
func (s *boothScreen) Close() error {
	if s == nil {
		return nil
	}
	return s.close()
}

// describe is the screen for the start-up log line.
func (s *boothScreen) describe() string {
	if s == nil {
		return "off"
	}
	return s.desc
}

// setProblem sets the fault to show (screen.Problem*, or "" for none). Call it before the
// screen runs.
func (s *boothScreen) setProblem(problem string) {
	if s != nil {
		s.view.Problem = problem
	}
}

// onVideo is the remote video callback for mediacall.Config.OnVideoFrame.
func (s *boothScreen) onVideo() func(*image.YCbCr) {
	if s == nil {
		return nil
	}
	return s.display.SetRemoteFrame
}

// onSelf is the camera callback for the self-view (capture.Config.OnSelfFrame).
func (s *boothScreen) onSelf() func(*image.YCbCr) {
	if s == nil {
		return nil
	}
	return s.display.SetSelfFrame
}

// drawLight has the virtual screen's page draw a simulated light, and says whether it
// does (a GPIO light is on the booth itself).
func (s *boothScreen) drawLight(l statusLight) bool {
	sim, ok := l.(*light.Sim)
	if s == nil || s.virtual == nil || !ok {
		return false
	}
	s.virtual.ShowLight(sim)
	return true
}

// withButtons adds the virtual screen's buttons to src (which may be nil).
func (s *boothScreen) withButtons(src button.Source) button.Source {
	if s == nil || s.virtual == nil {
		return src
	}
	if src == nil {
		return s.virtual.Buttons()
	}
	return button.Merge(src, s.virtual.Buttons())
}

// serveVirtual starts the virtual screen's server, once, until stopVirtual.
func (s *boothScreen) serveVirtual(ctx context.Context) {
	if s.virtual == nil || s.virtualDone != nil {
		return
	}
	vctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.virtualStop, s.virtualDone = cancel, make(chan error, 1)
	go func() { s.virtualDone <- s.virtual.Run(vctx) }()
}

// setView shows v (outside the booth's own screens, which present draws).
func (s *boothScreen) setView(v screen.View) {
	if s != nil {
		s.display.SetView(v)
	}
}

// showAlone draws v before the booth runs (the activation screen) until the returned
// function is called.
func (s *boothScreen) showAlone(ctx context.Context, v screen.View) (stop func()) {
	if s == nil {
		return func() {}
	}
	s.serveVirtual(ctx)
	s.display.SetView(v)
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.display.Run(dctx) }()
	return func() { cancel(); <-done }
}

// drawn waits until the display has drawn a frame on the panel, or ctx ends.
func (s *boothScreen) drawn(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.display.Frames() == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s opened, but no frame drawn: %w", s.desc, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// start runs the display, the virtual screen's server and the loop that follows the
// booth's state in g.
func (s *boothScreen) start(ctx context.Context, g *errgroup.Group, b *booth.Booth) {
	if s == nil {
		return
	}
	g.Go(func() error { return s.display.Run(ctx) })
	if s.virtual != nil {
		s.serveVirtual(ctx)
		g.Go(func() error {
			select {
			case <-ctx.Done():
				s.virtualStop()
				return <-s.virtualDone
			case err := <-s.virtualDone:
				s.virtualStop()
				return err
			}
		})
	}
	view := present.NewScreen(s.view)
	g.Go(func() error { return view.Follow(ctx, b, s.display) })
}
