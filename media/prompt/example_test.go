package prompt_test

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/media/playout"
	"github.com/carebooth/carebooth/media/prompt"
)

// beeps stands in for espeak-ng (prompt.NewESpeak, what a nil Config.Synth means when it
// is installed), so the example sounds the same everywhere: 10 ms of 440 Hz per character.
type beeps struct{}

func (beeps) Render(_ context.Context, text string) ([]int16, int, error) {
	return prompt.Tone(440, time.Duration(len(text))*10*time.Millisecond, 0.5), prompt.SampleRate, nil
}

// told tells when the announcer hands a prompt to the playout.
type told struct {
	*playout.Playout
	played chan int
}

func (t told) Play(pcm []int16) { t.Playout.Play(pcm); t.played <- len(pcm) }

// Prompts are spoken through the playout, over the call.
func Example() {
	pl, err := playout.New(playout.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pl.Close()
	player := told{pl, make(chan int, 1)}
	a, err := prompt.New(prompt.Config{Enabled: true, Synth: beeps{}}, player)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background()) // boothd's, cancelled on SIGTERM
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Run(gctx) })
	a.Say(prompt.Connected) // when the call's media starts flowing
	n := <-player.played
	fmt.Printf("%q: %d ms of sound, speaking %v\n", prompt.Connected.Text(), n*1000/prompt.SampleRate, pl.Speaking())
	out := make([]int16, n)
	pl.Read(out) // what the speaker does, at the sound card's pace
	fmt.Println("after it is read out, speaking", pl.Speaking())
	cancel()
	if err := g.Wait(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// "You are now connected.": 220 ms of sound, speaking true
	// after it is read out, speaking false
}

func ExampleMessage_Text() {
	fmt.Println(prompt.AppointmentReady.Text())
	fmt.Println(prompt.CallEnded.Text())
	// Output:
	// Your appointment is ready. Press the green button to join.
	// The call has ended.
}
