package speaker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebooth/carebooth/hw/speaker"
	"github.com/carebooth/carebooth/media/playout"
)

// countingSource plays silence and counts the samples asked for.
type countingSource struct{ n atomic.Int64 }

func (c *countingSource) Read(out []int16) {
	clear(out)
	c.n.Add(int64(len(out)))
}

// withALSAConfig points alsa-lib's per-user configuration (~/.asoundrc, which the
// system's alsa.conf loads) at conf for the rest of the test, so the default output is the
// test's choice on every machine, sound card or not. miniaudio frees alsa-lib's global
// configuration when its context closes, so the next Open reads it again.
func withALSAConfig(t *testing.T, conf string) {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
}

// The default output: where it is missing (no sound card: here ALSA's default is a card
// that does not exist) Open fails with ErrNoSpeaker, never crashes; where it is there
// (here ALSA's null plugin, which needs no sound card), the device pulls sound from the
// source. Both run on every machine with alsa-lib; without ALSA (or off Linux) Open
// must still give ErrNoSpeaker.
func TestOpenDefault(t *testing.T) {
	t.Run("no sound card", func(t *testing.T) {
		withALSAConfig(t, "pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n")
		s, err := speaker.Open(speaker.Config{}, &countingSource{})
		if err == nil {
			s.Close()
			t.Fatal("Open with ALSA's default on a missing card: got nil error, want ErrNoSpeaker")
		}
		if !errors.Is(err, speaker.ErrNoSpeaker) {
			t.Fatalf("Open: got %v, want an error matching ErrNoSpeaker", err)
		}
		if !strings.Contains(err.Error(), "speaker") {
			t.Errorf("error %q: got no mention of the speaker, want one for the fault log", err)
		}
	})
	t.Run("default plays", func(t *testing.T) {
		withALSAConfig(t, "pcm.!default { type null }\nctl.!default { type hw card 99 }\n")
		src := &countingSource{}
		s, err := speaker.Open(speaker.Config{}, src)
		if err != nil {
			if !errors.Is(err, speaker.ErrNoSpeaker) {
				t.Fatalf("Open: got %v, want an error matching ErrNoSpeaker", err)
			}
			if runtime.GOOS == "linux" && os.Getenv("CI") == "true" {
				t.Fatalf("Open(default = null): %v; CI has alsa-lib (libasound2, which chromium needs)", err)
			}
			t.Skipf("no ALSA here (install libasound2): %v", err)
		}
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		deadline := time.Now().Add(30 * time.Second) // a guard against hanging, not a speed test
		for src.n.Load() < speaker.SampleRate/10 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if got := src.n.Load(); got < speaker.SampleRate/10 {
			t.Errorf("device %q pulled %d samples, want at least 100 ms worth", s.Name(), got)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := speaker.Open(speaker.Config{Device: "no-such-card-7f3a"}, &countingSource{})
	if !errors.Is(err, speaker.ErrNoSpeaker) {
		t.Fatalf("Open(no-such-card): got %v, want an error matching ErrNoSpeaker", err)
	}
}

// ALSA's null device (alsa-lib defines it; no sound card needed) takes samples as fast as
// they come, which runs the real miniaudio path end to end: open by ALSA name, the data
// callback pulling a playout, stop, close.
func TestNullDevice(t *testing.T) {
	pl, err := playout.New(playout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	pl.Play(make([]int16, speaker.SampleRate)) // a second of prompt to be pulled through
	s, err := speaker.Open(speaker.Config{Device: "null"}, pl)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Open(null): %v; CI has alsa-lib (libasound2, which chromium needs)", err)
		}
		t.Skipf("no ALSA here (install libasound2): %v", err)
	}
	defer s.Close()
	if s.Name() != "null" {
		t.Errorf("Name: got %q, want null", s.Name())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second) // a guard against hanging, not a speed test
	for pl.Speaking() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if pl.Speaking() {
		t.Errorf("the device did not pull the prompt through the playout")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
