package mediacall

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// TestAnswersARealOffer runs the booth's side of a call against a receive-only pion
// offerer over loopback and checks that frames flow and the stats say so.
func TestAnswersARealOffer(t *testing.T) {
	engine, err := call.NewEngine(call.EngineConfig{
		Logger:       slog.New(slog.DiscardHandler),
		Loopback:     true,
		NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
		DisableMDNS:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := call.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	caller, err := New(engine, Config{Metrics: m, Capture: capture.Config{Video: capture.SourceTest, Audio: capture.SourceTest, Width: 320, Height: 240, FPS: 15}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	toBooth := make(chan signalling.Candidate, 64)
	toClinician := make(chan signalling.Candidate, 64)
	clinician, err := engine.NewCall(call.Options{Role: signalling.CallOfferer, OnCandidate: func(c signalling.Candidate) { toBooth <- c }})
	if err != nil {
		t.Fatal(err)
	}
	defer clinician.Close()
	ctx := context.Background()
	ac, err := caller.StartCall(ctx, booth.CallParams{CallID: "call-1", OnCandidate: func(c signalling.Candidate) { toClinician <- c }})
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()

	offer, err := clinician.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := ac.Answer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := clinician.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	relay := func(from <-chan signalling.Candidate, add func(signalling.Candidate) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case c := <-from:
					add(c)
				}
			}
		}()
	}
	relay(toBooth, ac.AddCandidate)
	relay(toClinician, clinician.AddCandidate)
	defer func() { close(stop); wg.Wait() }()

	select {
	case <-ac.Connected():
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not connect")
	}
	deadline := time.Now().Add(20 * time.Second)
	for ac.Stats().FramesSent < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("stats: got %+v, want frames sent", ac.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := ac.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	select {
	case <-ac.Done():
	case <-time.After(5 * time.Second):
		t.Error("Done not closed after Close")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sent float64
	for _, f := range families {
		if f.GetName() == "carebooth_call_video_frames_sent_total" {
			sent = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if sent < 5 {
		t.Errorf("carebooth_call_video_frames_sent_total: got %v, want at least 5", sent)
	}
}
