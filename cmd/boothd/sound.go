package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/booth/present"
	"github.com/carebooth/carebooth/hw/button"
	"github.com/carebooth/carebooth/hw/speaker"
	"github.com/carebooth/carebooth/media/playout"
	"github.com/carebooth/carebooth/media/prompt"
	"github.com/carebooth/carebooth/provisioning/config"
)

// sound is the booth's speaker side: the playout (jitter buffer, decoder, volume), the
// ALSA output, and the spoken prompts.
type sound struct {
	log     *slog.Logger
	playout *playout.Playout
	speaker *speaker.Speaker // nil: no sound output (none configured, or none found)
	prompts *prompt.Announcer
}

// The playout is what the speaker plays and what the prompts play through.
var (
	_ speaker.Source = (*playout.Playout)(nil)
	_ prompt.Player  = (*playout.Playout)(nil)
)

// newSound opens the speaker cfg names. A booth without a sound card, or without
// espeak-ng, still runs: it logs the fault and carries on without sound or voice.
func newSound(cfg config.Speaker, logger *slog.Logger) (*sound, error) {
	pl, err := playout.New(playout.Config{Volume: float64(cfg.Volume) / 10, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("speaker: %w", err)
	}
	s := &sound{log: logger.With("component", "sound"), playout: pl}
	if cfg.Device != config.SpeakerOff {
		dev := cfg.Device
		if dev == config.SpeakerAuto {
			dev = ""
		}
		spk, err := speaker.Open(speaker.Config{Device: dev, Logger: logger}, pl)
		switch {
		case errors.Is(err, speaker.ErrNoSpeaker):
			s.log.Error("no sound: the patient will not hear the clinician", "err", err,
				"fix", "attach a speaker, or set speaker.device (aplay -L lists them)")
		case err != nil:
			pl.Close()
			return nil, fmt.Errorf("speaker.device %q: %w", cfg.Device, err)
		default:
			s.speaker = spk
		}
	}
	synthCfg := prompt.Config{Enabled: cfg.Prompts, Logger: logger}
	if cfg.Prompts {
		es, err := prompt.NewESpeak(cfg.Voice, 0)
		switch {
		case errors.Is(err, prompt.ErrNoSynth):
			s.log.Warn("spoken prompts are off", "reason", err)
			synthCfg.Enabled = false
		case err != nil:
			pl.Close()
			if s.speaker != nil {
				s.speaker.Close()
			}
			return nil, fmt.Errorf("speaker.voice: %w", err)
		default:
			synthCfg.Synth = es
		}
	}
	if s.prompts, err = prompt.New(synthCfg, pl); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// start runs the speaker and the prompts in g, from before the booth exists, so an
// unenrolled booth can say its activation code. A speaker that stops (unplugged) is
// logged, not fatal: the call goes on without sound.
func (s *sound) start(ctx context.Context, g *errgroup.Group) {
	if s.speaker != nil {
		g.Go(func() error {
			if err := s.speaker.Run(ctx); err != nil {
				s.log.Error("no sound: the speaker stopped", "err", err)
			}
			return nil
		})
	}
	g.Go(func() error { return s.prompts.Run(ctx) })
}

// announce says b's state changes, in g.
func (s *sound) announce(ctx context.Context, g *errgroup.Group, b *booth.Booth) {
	snaps, unsubscribe := b.Subscribe()
	g.Go(func() error {
		defer unsubscribe()
		return present.Announce(ctx, snaps, s.prompts.Say)
	})
}

// Close stops the speaker and frees the decoder. It is idempotent.
func (s *sound) Close() {
	if s.speaker != nil {
		s.speaker.Close()
	}
	s.playout.Close()
}

// withVolume puts the volume buttons' handling in front of src; nil stays nil.
func (s *sound) withVolume(src button.Source) button.Source {
	if src == nil {
		return nil
	}
	return &volumeButtons{src: src, speaker: s.playout, log: s.log}
}

// volumeButtons takes the volume buttons' presses from src and turns them into speaker
// volume steps, each with a short beep at the new volume, so the patient hears the change
// even when nobody is talking; every other press goes on to the booth. The buttons never
// turn the speaker right down to silence: that is what Mute is for.
type volumeButtons struct {
	src     button.Source
	speaker interface {
		AdjustVolume(delta float64) float64
		Play(pcm []int16)
	}
	log *slog.Logger
}

var _ button.Source = (*volumeButtons)(nil)

// volumeBeep is the beep a volume press makes: 80 ms at 660 Hz, -12 dBFS before the volume.
func volumeBeep() []int16 { return prompt.Tone(660, 80*time.Millisecond, 0.25) }

func (v *volumeButtons) Run(ctx context.Context, out chan<- button.Event) error {
	in := make(chan button.Event)
	errc := make(chan error, 1)
	go func() { errc <- v.src.Run(ctx, in) }() // waited for below: src returns when ctx is done
	beep := volumeBeep()
	for {
		select {
		case err := <-errc:
			return err
		case ev := <-in:
			var delta float64
			switch ev.Button {
			case button.VolumeUp:
				delta = playout.VolumeStep
			case button.VolumeDown:
				delta = -playout.VolumeStep
			default:
				select {
				case out <- ev:
				case <-ctx.Done():
				}
				continue
			}
			level := v.speaker.AdjustVolume(delta)
			if level < playout.VolumeStep {
				level = v.speaker.AdjustVolume(playout.VolumeStep - level)
			}
			v.speaker.Play(beep)
			v.log.Info("volume", "level", level)
		}
	}
}

// describe names the speaker open, "" when there is none.
func (s *sound) describe() string {
	if s.speaker == nil {
		return ""
	}
	if n := s.speaker.Name(); n != "" {
		return "open: " + n
	}
	return "open"
}
