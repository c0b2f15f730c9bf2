package call_test

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
)

// The booth's side of a call: open the camera, answer the clinician's offer, trickle
// candidates through the signalling connection, and hang up. Here the clinician is a
// second call in the same engine over loopback, and the camera and microphone are the test
// sources, so the example runs the same everywhere; a booth opens "auto" and reads the
// offer and candidates from signalling messages.
func Example() {
	logger := slog.New(slog.DiscardHandler) // boothd's, with component attributes
	engine, err := call.NewEngine(call.EngineConfig{Logger: logger, Loopback: true,
		NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4}, DisableMDNS: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	stream, err := capture.Open(capture.Config{Video: capture.SourceTest, Audio: capture.SourceTest,
		Width: 640, Height: 480, FPS: 30, Shared: true}, logger)
	if err != nil {
		fmt.Println(err) // errors.Is(err, capture.ErrNoCamera): show the fault
		return
	}
	defer stream.Close() // after the call: the camera goes off

	// Each side's candidates go to the other, as conn.Send(&c) and AddCandidate would.
	toBooth, toClinician := make(chan signalling.Candidate, 64), make(chan signalling.Candidate, 64)
	frames := make(chan struct{}, 1)
	booth, err := engine.NewCall(call.Options{
		Role:        signalling.CallAnswerer,
		Tracks:      stream.Tracks(),
		OnCandidate: func(c signalling.Candidate) { toClinician <- c },
		OnAudio:     func(pcm []int16) { /* play on the speaker */ },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer booth.Close()
	clinician, err := engine.NewCall(call.Options{
		Role:        signalling.CallOfferer,
		OnCandidate: func(c signalling.Candidate) { toBooth <- c },
		OnVideoFrame: func(*image.YCbCr) { // draw on the screen
			select {
			case frames <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer clinician.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	relayed := make(chan struct{})
	defer func() { cancel(); <-relayed }()
	go func() {
		defer close(relayed)
		for {
			select {
			case c := <-toBooth:
				booth.AddCandidate(c)
			case c := <-toClinician:
				clinician.AddCandidate(c)
			case <-ctx.Done():
				return
			}
		}
	}()

	offer, err := clinician.Offer(ctx) // from the signalling offer message
	if err != nil {
		fmt.Println(err)
		return
	}
	answer, err := booth.Answer(ctx, offer)
	if err != nil {
		fmt.Println(err) // errors.Is(err, call.ErrBadSDP)
		return
	}
	if err := clinician.SetAnswer(answer); err != nil { // the signalling answer message
		fmt.Println(err)
		return
	}
	select {
	case <-booth.Connected():
		fmt.Println("connected")
	case <-ctx.Done():
		fmt.Println("not connected:", ctx.Err())
		return
	}
	select {
	case <-frames:
		fmt.Println("the clinician sees the booth's camera")
	case <-ctx.Done():
		fmt.Println("no picture:", ctx.Err())
		return
	}
	booth.Close() // End pressed
	<-booth.Done()
	fmt.Println("call ended:", booth.Err())
	// Output:
	// connected
	// the clinician sees the booth's camera
	// call ended: <nil>
}
