package mediacall

import (
	"context"
	"image"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
)

// TestOffersToARealAnswerer runs the clinic-room appliance's side (the offerer) against a
// receive-only pion answerer over loopback: the answerer decodes the appliance's picture.
func TestOffersToARealAnswerer(t *testing.T) {
	engine := loopbackEngine(t)
	caller, err := New(engine, Config{Capture: capture.Config{Video: capture.SourceTest, Audio: capture.SourceTest, Width: 320, Height: 240, FPS: 15}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	toRoom := make(chan signalling.Candidate, 64)
	toBooth := make(chan signalling.Candidate, 64)
	var frames atomic.Int64
	boothSide, err := engine.NewCall(call.Options{Role: signalling.CallAnswerer,
		OnCandidate:  func(c signalling.Candidate) { toRoom <- c },
		OnVideoFrame: func(*image.YCbCr) { frames.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer boothSide.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ac, err := caller.StartCall(ctx, booth.CallParams{CallID: "call-1", Role: signalling.CallOfferer, OnCandidate: func(c signalling.Candidate) { toBooth <- c }})
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	off, ok := ac.(booth.Offerer)
	if !ok {
		t.Fatalf("got %T, want a booth.Offerer", ac)
	}
	offer, err := off.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := boothSide.Answer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := off.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	relayCandidates(t, toBooth, boothSide.AddCandidate)
	relayCandidates(t, toRoom, ac.AddCandidate)
	select {
	case <-ac.Connected():
	case <-ctx.Done():
		t.Fatal("the call did not connect")
	}
	for frames.Load() < 3 {
		select {
		case <-ctx.Done():
			t.Fatalf("the answerer decoded %d frames, want at least 3", frames.Load())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
