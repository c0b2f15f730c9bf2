package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/firmware/health"
	"github.com/carebooth/carebooth/provisioning/config"
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
