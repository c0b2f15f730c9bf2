package prompt_test

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/carebooth/carebooth/media/playout"
	"github.com/carebooth/carebooth/media/prompt"
)

// Prompts are spoken through the playout, over the call.
func Example() {
	pl, err := playout.New(playout.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pl.Close()
	a, err := prompt.New(prompt.Config{Enabled: true}, pl) // espeak-ng if installed
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background()) // boothd's, cancelled on SIGTERM
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Run(gctx) })
	a.Say(prompt.Connected) // when the call's media starts flowing
	cancel()
	if err := g.Wait(); err != nil {
		fmt.Println(err)
	}
}

func ExampleMessage_Text() {
	fmt.Println(prompt.AppointmentReady.Text())
	fmt.Println(prompt.CallEnded.Text())
	// Output:
	// Your appointment is ready. Press the green button to join.
	// The call has ended.
}
