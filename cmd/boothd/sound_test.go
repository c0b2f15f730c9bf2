package main

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/provisioning/config"
)

// fakeSpeaker keeps a volume, clamped as the playout clamps it, and counts beeps.
type fakeSpeaker struct {
	mu    sync.Mutex
	v     float64
	beeps int
}

func (f *fakeSpeaker) AdjustVolume(d float64) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.v = math.Round(min(max(f.v+d, 0), 1)*1000) / 1000
	return f.v
}

func (f *fakeSpeaker) Play(pcm []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(pcm) > 0 {
		f.beeps++
	}
}

func TestVolumeButtons(t *testing.T) {
	sim := button.NewSim(nil)
	vol := &fakeSpeaker{v: 0.5}
	vb := &volumeButtons{src: sim, speaker: vol, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan button.Event, 8)
	done := make(chan error, 1)
	go func() { done <- vb.Run(ctx, out) }()
	presses := []button.Button{button.VolumeUp, button.VolumeUp, button.Join, button.VolumeDown, button.Mute}
	for i := 0; i < 8; i++ { // down to the bottom and beyond: never silent
		presses = append(presses, button.VolumeDown)
	}
	presses = append(presses, button.End) // passed on after every press before it is handled
	for _, b := range presses {
		if err := sim.Press(b); err != nil {
			t.Fatal(err)
		}
	}
	var passed []button.Button
	for len(passed) < 3 {
		select {
		case ev := <-out:
			passed = append(passed, ev.Button)
		case <-time.After(time.Minute): // a guard against hanging only
			t.Fatalf("got %v passed on, want [join mute end]", passed)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if want := []button.Button{button.Join, button.Mute, button.End}; !slices.Equal(passed, want) {
		t.Errorf("passed on %v, want %v", passed, want)
	}
	if got := vol.AdjustVolume(0); got != 0.1 {
		t.Errorf("volume after up, up and nine downs from 0.5: got %v, want 0.1 (one step, not silent)", got)
	}
	if vol.beeps != 11 {
		t.Errorf("beeps: got %d, want one per volume press (11)", vol.beeps)
	}
}

// Without a sound card (as here and on CI) and with prompts off, the booth's sound still
// builds: the fault is logged, not returned.
func TestNewSoundWithoutHardware(t *testing.T) {
	for _, c := range []config.Speaker{
		{Device: config.SpeakerAuto, Volume: 8, Prompts: false, Voice: "en-gb"},
		{Device: config.SpeakerOff, Volume: 3, Prompts: false, Voice: "en-gb"},
		{Device: "no-such-card", Volume: 10, Prompts: false, Voice: "en-gb"},
	} {
		s, err := newSound(c, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Errorf("newSound(%+v): %v, want a booth without sound", c, err)
			continue
		}
		if got, want := s.playout.Volume(), float64(c.Volume)/10; got != want {
			t.Errorf("volume: got %v, want %v", got, want)
		}
		s.Close()
		s.Close()
	}
}
