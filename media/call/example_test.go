package call_test

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"os"

	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
)

// The booth's side of a call: open the camera, answer the clinician's offer, trickle
// candidates through the signalling connection, and hang up.
func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	engine, err := call.NewEngine(call.EngineConfig{Logger: logger})
	if err != nil {
		fmt.Println(err)
		return
	}
	stream, err := capture.Open(capture.Config{Video: "auto", Audio: "auto"}, logger)
	if err != nil {
		fmt.Println(err) // errors.Is(err, capture.ErrNoCamera): show the fault
		return
	}
	defer stream.Close() // after the call: the camera goes off

	send := func(c signalling.Candidate) { /* c.CallID = id; conn.Send(&c) */ }
	c, err := engine.NewCall(call.Options{
		Role:         signalling.CallAnswerer,
		Tracks:       stream.Tracks(),
		OnCandidate:  send,
		OnVideoFrame: func(img *image.YCbCr) { /* draw on the screen */ },
		OnAudio:      func(pcm []int16) { /* play on the speaker */ },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ctx := context.Background()
	var offer string // from the signalling offer message
	answer, err := c.Answer(ctx, offer)
	if err != nil {
		fmt.Println(err) // errors.Is(err, call.ErrBadSDP)
		return
	}
	_ = answer // send it as the signalling answer message; feed candidates to c.AddCandidate

	select {
	case <-c.Done():
		fmt.Println("call ended:", c.Err())
	case <-ctx.Done():
	}
}
