package main

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/hw/light"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/signalling"
)

type screenTestCaller struct{ call booth.ActiveCall }

func (c screenTestCaller) StartCall(context.Context, booth.CallParams) (booth.ActiveCall, error) {
	if c.call == nil {
		return nil, errors.New("no call")
	}
	return c.call, nil
}

// TestScreenFollowsTheBooth wires a virtual screen to a real booth (whose switchboard is
// unreachable, so it is offline and idle with one appointment in its cache): the snapshot
// shows the idle screen with the appointment, and a button pressed on the virtual screen
// reaches the booth.
func TestScreenFollowsTheBooth(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	scr, err := openScreen(config.Screen{Backend: config.ScreenVirtual, Listen: "127.0.0.1:0", Device: "/dev/fb0"},
		config.Device{JoinMode: device.JoinButton}, clockwork.NewRealClock(), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	store := booth.NewMemStore()
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	if err := store.ReplaceSchedule([]signalling.Appointment{{ID: "a1", ClinicName: "Riverside Surgery",
		Start: start, End: start.Add(20 * time.Minute), Status: "scheduled"}}); err != nil {
		t.Fatal(err)
	}
	b, err := booth.New(booth.Config{SwitchboardURL: "http://127.0.0.1:1", Token: "t", JoinMode: device.JoinButton,
		JoinWindow: 10 * time.Minute}, booth.Deps{Caller: screenTestCaller{}, Buttons: scr.withButtons(nil),
		Store: store, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.Run(gctx) })
	scr.start(gctx, g, b)
	defer func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	}()

	// The screen shows the idle screen with the cached appointment: compare with what
	// the renderer draws for that view.
	want := screen.View{Location: time.Local, ClinicName: "Riverside Surgery", Appointment: start}
	r, err := screen.NewRenderer(scr.virtual.Size())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(scr.virtual.URL() + "screen.png")
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		want.Now = time.Now()
		img, _ := r.Render(want, nil, nil)
		if screenSameImage(got, img) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the virtual screen does not show the idle screen with the appointment (%q)", r.Layout(want).Text())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Join pressed on the virtual screen reaches the booth (which ignores it: no window).
	resp, err := http.Post(scr.virtual.URL()+"buttons/join", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /buttons/join: %s, want 204", resp.Status)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if _, err := b.WaitFor(wctx, func(s booth.Snapshot) bool { return s.Ignored == 1 }); err != nil {
		t.Errorf("the booth did not get the press: %v", err)
	}
}

func screenSameImage(a image.Image, b *image.RGBA) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := b.Rect.Min.Y; y < b.Rect.Max.Y; y += 3 {
		for x := b.Rect.Min.X; x < b.Rect.Max.X; x += 3 {
			if color.RGBAModel.Convert(a.At(x, y)) != b.RGBAAt(x, y) {
				return false
			}
		}
	}
	return true
}

// TestSelfViewOnTheScreen: the camera frames capture hands over (capture.Config's
// OnSelfFrame, as boothd opens it) appear in the call screen's self-view box; after the
// call they are gone.
func TestSelfViewOnTheScreen(t *testing.T) {
	scr, err := openScreen(config.Screen{Backend: config.ScreenVirtual, Listen: "127.0.0.1:0", Device: "/dev/fb0"},
		config.Device{JoinMode: device.JoinAuto}, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	cc := captureConfig(config.Media{Video: "test", Audio: "test"}, scr)
	if cc.OnSelfFrame == nil {
		t.Fatal("capture.Config.OnSelfFrame is nil: the camera's frames never reach the screen")
	}
	if got := captureConfig(config.Media{}, nil).OnSelfFrame; got != nil {
		t.Error("with no screen, OnSelfFrame should be nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return scr.display.Run(gctx) })
	g.Go(func() error { return scr.virtual.Run(gctx) })
	defer func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	}()

	// A camera frame of one strong colour: Y'CbCr for about RGB(200, 40, 160).
	self := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	yy, cb, cr := color.RGBToYCbCr(200, 40, 160)
	for i := range self.Y {
		self.Y[i] = yy
	}
	for i := range self.Cb {
		self.Cb[i], self.Cr[i] = cb, cr
	}
	v := screen.View{Kind: screen.InCall}
	r, err := screen.NewRenderer(scr.virtual.Size())
	if err != nil {
		t.Fatal(err)
	}
	box := r.Layout(v).Self
	if box.Empty() {
		t.Fatal("the call layout has no self-view box")
	}
	centre := image.Pt((box.Min.X+box.Max.X)/2, (box.Min.Y+box.Max.Y)/2)
	scr.display.SetView(v)
	cc.OnSelfFrame(self)
	wantColour := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			c := snapshotAt(t, scr.virtual.URL(), centre)
			near := absDiff(c.R, 200) < 12 && absDiff(c.G, 40) < 12 && absDiff(c.B, 160) < 12
			if near == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("self-view box centre %v: got %v, want the camera's colour: %v", centre, c, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wantColour(true)
	scr.display.SetSelfFrame(nil)
	wantColour(false)
}

func snapshotAt(t *testing.T, url string, p image.Point) color.RGBA {
	t.Helper()
	resp, err := http.Get(url + "screen.png")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return color.RGBAModel.Convert(img.At(p.X, p.Y)).(color.RGBA)
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestVirtualScreenDrawsTheSimulatedLight: with the simulated light, the virtual screen's
// page draws it (GET /light answers); without a virtual screen nothing is claimed.
func TestVirtualScreenDrawsTheSimulatedLight(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	scr, err := openScreen(config.Screen{Backend: config.ScreenVirtual, Listen: "127.0.0.1:0", Device: "/dev/fb0"},
		config.Device{JoinMode: device.JoinAuto}, clockwork.NewRealClock(), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	l, _, err := openLight(config.Light{}, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	if !scr.drawLight(l) {
		t.Fatal("drawLight: got false, want the simulated light drawn on the virtual screen")
	}
	if (*boothScreen)(nil).drawLight(l) {
		t.Error("drawLight with no screen: got true, want false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- scr.virtual.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	l.Show(light.For(light.Status{State: light.InCall}))
	resp, err := http.Get(scr.virtual.URL() + "light")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"lit":true`) {
		t.Errorf("GET /light: %s %s, want the lit in-call light", resp.Status, body)
	}
}
