package mediacall

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/signalling"
	"github.com/pion/webrtc/v4"
)

// The Mute button: the clinician hears the booth's tone, then silence while muted, then
// the tone again, over a real pion call.
func TestMuteSilencesTheMicrophone(t *testing.T) {
	engine, err := call.NewEngine(call.EngineConfig{
		Logger:       slog.New(slog.DiscardHandler),
		Loopback:     true,
		NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
		DisableMDNS:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := New(engine, Config{Capture: capture.Config{Video: capture.SourceOff, Audio: capture.SourceTest}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var level atomic.Uint64 // float64 bits: RMS of the last decoded block at the clinician
	var blocks atomic.Int64
	toBooth := make(chan signalling.Candidate, 64)
	toClinician := make(chan signalling.Candidate, 64)
	clinician, err := engine.NewCall(call.Options{
		Role:        signalling.CallOfferer,
		OnCandidate: func(c signalling.Candidate) { toBooth <- c },
		OnAudio: func(pcm []int16) {
			var sum float64
			for _, v := range pcm {
				sum += float64(v) * float64(v)
			}
			level.Store(math.Float64bits(math.Sqrt(sum / float64(max(len(pcm), 1)))))
			blocks.Add(1)
		},
	})
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
	for _, r := range []struct {
		from <-chan signalling.Candidate
		add  func(signalling.Candidate) error
	}{{toBooth, ac.AddCandidate}, {toClinician, clinician.AddCandidate}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case c := <-r.from:
					r.add(c)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	// waitLevel waits until 25 blocks in a row (half a second) satisfy ok.
	waitLevel := func(what string, ok func(rms float64) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		run, last := 0, blocks.Load()
		for run < 25 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s (last RMS %.0f)", what, math.Float64frombits(level.Load()))
			}
			time.Sleep(5 * time.Millisecond)
			if n := blocks.Load(); n != last {
				last = n
				if ok(math.Float64frombits(level.Load())) {
					run++
				} else {
					run = 0
				}
			}
		}
	}
	// The test tone is a quarter of full scale: RMS about 5800.
	waitLevel("the tone before muting", func(rms float64) bool { return rms > 2000 })
	m, ok := ac.(booth.Muter)
	if !ok {
		t.Fatal("the call does not implement booth.Muter")
	}
	if err := m.SetMuted(true); err != nil {
		t.Fatal(err)
	}
	waitLevel("silence while muted", func(rms float64) bool { return rms < 50 })
	if err := m.SetMuted(false); err != nil {
		t.Fatal(err)
	}
	waitLevel("the tone again after unmuting", func(rms float64) bool { return rms > 2000 })
}
