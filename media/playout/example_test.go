package playout_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/carebooth/carebooth/hw/speaker"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/playout"
)

// The booth's sound: calls built by the engine hand their Opus packets to the playout,
// and the speaker pulls from it at the sound card's pace.
func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
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

	spk, err := speaker.Open(speaker.Config{Logger: logger}, pl)
	if errors.Is(err, speaker.ErrNoSpeaker) {
		fmt.Println("no sound:", err) // show the fault on the screen; the call still works
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer spk.Close()
	ctx := context.Background() // boothd's, cancelled on SIGTERM
	if err := spk.Run(ctx); err != nil {
		fmt.Println(err) // errors.Is(err, speaker.ErrStopped): unplugged
	}
}

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
