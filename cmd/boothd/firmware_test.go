package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/firmware/health"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/jonboulle/clockwork"
)

func TestNewUpdater(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.Switchboard.URL = "https://sb.example.org"
	cfg.State.Dir = dir
	hc := deviceClient(nil, "tok")
	if u, err := newUpdater(cfg, hc, nil, nil); u != nil || err != nil {
		t.Errorf("without firmware.trust_file: got %v, %v, want no updater and no error", u, err)
	}
	bad := filepath.Join(dir, "trust.pub")
	if err := os.WriteFile(bad, []byte("ssh-ed25519 AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Firmware.TrustFile, cfg.Firmware.SlotsDir = bad, filepath.Join(dir, "slots")
	if _, err := newUpdater(cfg, hc, nil, nil); err == nil || !strings.Contains(err.Error(), "firmware.trust_file") {
		t.Errorf("a trust file of another kind of key: got %v, want an error naming firmware.trust_file", err)
	}
	good := "carebooth-firmware-ed25519 " + strings.Repeat("A", 43) + "=\n"
	if err := os.WriteFile(bad, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if u, err := newUpdater(cfg, hc, nil, nil); u == nil || err != nil {
		t.Errorf("with a trust file and slots: got %v, %v, want an updater", u, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "slots", "current")); err != nil {
		t.Errorf("slots_dir: got %v, want the slots and their link made", err)
	}
}

func TestHealthChecksNameTheFault(t *testing.T) {
	cfg := config.Defaults()
	cfg.Switchboard.URL = "http://127.0.0.1:1" // nothing listens
	r, err := healthChecks(cfg, deviceClient(nil, "tok"), "camera", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background())
	if !errors.Is(err, health.ErrFailed) {
		t.Fatalf("got %v, want health.ErrFailed", err)
	}
	for _, want := range []string{"switchboard", "camera and microphone: camera", "screen: no screen opened"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to say %q", err, want)
		}
	}
}

// TestHealthCheckScreenDrawn: a release on trial passes "screen" only once the display
// has drawn a frame on the panel, not merely opened it.
func TestHealthCheckScreenDrawn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	cfg := config.Defaults()
	cfg.Switchboard.URL = srv.URL
	scr, err := openScreen(config.Screen{Backend: config.ScreenVirtual, Listen: "127.0.0.1:0", Device: "/dev/fb0"},
		config.Device{Name: "booth"}, clockwork.NewRealClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer scr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := scr.drawn(ctx); err == nil || !strings.Contains(err.Error(), "no frame drawn") {
		t.Fatalf("before drawing: got %v, want no frame drawn", err)
	}
	stop := scr.showAlone(context.Background(), screen.View{Kind: screen.Idle})
	defer stop()
	r, err := healthChecks(cfg, srv.Client(), "", scr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatalf("while the screen draws: got %v, want every check passed", err)
	}
}
