package playout_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/carebooth/carebooth/hw/speaker"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/playout"
)

// The booth's sound: calls built by the engine hand their Opus packets to the playout,
// and the speaker pulls from it at the sound card's pace (playOnSpeaker). Here the
// example pulls, as the speaker would, so it sounds the same on a machine without one.
func Example() {
	logger := slog.New(slog.DiscardHandler) // boothd's, with component attributes
	pl, err := playout.New(playout.Config{Logger: logger})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pl.Close()
	engine, err := call.NewEngine(call.EngineConfig{Logger: logger, OnAudioPacket: pl.Push})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = engine // engine.NewCall(...) for each call, as media/call's example shows

	pl.Play(make([]int16, speaker.SampleRate/10)) // a 100 ms prompt, before any call
	out := make([]int16, speaker.SampleRate/100)  // the speaker asks for 10 ms at a time
	reads := 0
	for pl.Speaking() {
		pl.Read(out)
		reads++
	}
	fmt.Println("prompt played in", reads, "reads of 10 ms; packets from calls:", pl.Stats().Packets)
	// Output:
	// prompt played in 10 reads of 10 ms; packets from calls: 0
}

// playOnSpeaker plays pl on the default output until ctx is done: what boothd runs.
func playOnSpeaker(ctx context.Context, pl *playout.Playout, logger *slog.Logger) error {
	spk, err := speaker.Open(speaker.Config{Logger: logger}, pl)
	if errors.Is(err, speaker.ErrNoSpeaker) {
		return err // show the fault on the screen; the call still works
	}
	if err != nil {
		return err
	}
	defer spk.Close()
	return spk.Run(ctx) // errors.Is(err, speaker.ErrStopped): unplugged
}

var _ = playOnSpeaker

// The volume buttons step the volume by 4 dB, up to full.
func ExamplePlayout_AdjustVolume() {
	pl, err := playout.New(playout.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pl.Close()
	fmt.Println(pl.Volume())
	for i := 0; i < 3; i++ {
		fmt.Println(pl.AdjustVolume(playout.VolumeStep)) // volume up pressed
	}
	pl.Mute(true) // the call is silenced, ramped over 10 ms; prompts still play
	fmt.Println(pl.Muted())
	// Output:
	// 0.8
	// 0.9
	// 1
	// 1
	// true
}
