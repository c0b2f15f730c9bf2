package main

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/media/prompt"
	"github.com/carebooth/carebooth/provisioning/config"
)

func TestPromptsFor(t *testing.T) {
	idle := booth.Snapshot{State: booth.Idle}
	window := booth.Snapshot{State: booth.JoinWindow}
	waiting := booth.Snapshot{State: booth.Waiting}
	ringing := booth.Snapshot{State: booth.InCall}
	connected := booth.Snapshot{State: booth.InCall, Connected: true}
	offline := func(s booth.Snapshot) booth.Snapshot { s.Offline = true; return s }
	for _, tt := range []struct {
		name      string
		prev, cur booth.Snapshot
		want      []prompt.Message
	}{
		{"window opens", idle, window, []prompt.Message{prompt.AppointmentReady}},
		{"arrived", window, waiting, []prompt.Message{prompt.ClinicianSoon}},
		{"admitted, media not yet flowing", waiting, ringing, nil},
		{"media flows", ringing, connected, []prompt.Message{prompt.Connected}},
		{"admitted and flowing at once", waiting, connected, []prompt.Message{prompt.Connected}},
		{"call ends", connected, window, []prompt.Message{prompt.CallEnded}},
		{"call ends, appointment over", connected, idle, []prompt.Message{prompt.CallEnded}},
		{"clinician lost: back to waiting", connected, waiting, []prompt.Message{prompt.CallEnded, prompt.ClinicianSoon}},
		{"link lost in a call", connected, offline(window), []prompt.Message{prompt.Reconnecting}},
		{"link lost while waiting", waiting, offline(waiting), []prompt.Message{prompt.Reconnecting}},
		{"link back, waiting again", offline(waiting), waiting, []prompt.Message{prompt.ClinicianSoon}},
		{"link lost while idle", idle, offline(idle), nil},
		{"nothing changed", connected, connected, nil},
		{"staff told of a Help press", idle, booth.Snapshot{State: booth.Idle, Help: true}, []prompt.Message{prompt.HelpComing}},
		{"help still coming", booth.Snapshot{State: booth.Idle, Help: true}, booth.Snapshot{State: booth.Idle, Help: true}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := promptsFor(tt.prev, tt.cur); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnnounce(t *testing.T) {
	snaps := make(chan booth.Snapshot, 4)
	snaps <- booth.Snapshot{State: booth.Waiting} // the state at subscription: not announced
	snaps <- booth.Snapshot{State: booth.InCall, Connected: true}
	snaps <- booth.Snapshot{State: booth.Idle}
	close(snaps)
	var said []prompt.Message
	if err := announce(context.Background(), snaps, func(m prompt.Message) { said = append(said, m) }); err != nil {
		t.Fatal(err)
	}
	if want := []prompt.Message{prompt.Connected, prompt.CallEnded}; !slices.Equal(said, want) {
		t.Errorf("said %v, want %v", said, want)
	}
}

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
