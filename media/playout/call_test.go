package playout_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/carebooth/carebooth/hw/speaker/speakertest"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	"github.com/carebooth/carebooth/media/playout"
	"github.com/carebooth/carebooth/media/synth"
	"github.com/carebooth/carebooth/signalling"
)

// A real call over loopback: the clinician's side sends media/synth's 440 Hz tone through
// mediadevices' Opus encoder and pion; the booth's side hands the packets to a Playout
// (call.Options.OnAudioPacket), and a test sink pulls the speaker's 10 ms periods on a
// ticker. What the speaker plays is the tone, with no clicks.
func TestCallToSpeaker(t *testing.T) {
	if testing.Short() {
		t.Skip("a real call takes seconds")
	}
	const hz = 440
	engine, err := call.NewEngine(call.EngineConfig{
		Loopback:     true,
		NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
		DisableMDNS:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	media, err := synth.Open(synth.Config{ToneHz: hz, Capture: capture.Config{Width: 320, Height: 240, FPS: 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	pl, err := playout.New(playout.Config{Volume: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()

	toBooth := make(chan signalling.Candidate, 64)
	toClinician := make(chan signalling.Candidate, 64)
	clinician, err := engine.NewCall(call.Options{Role: signalling.CallOfferer, Tracks: media.Tracks(),
		OnCandidate: func(c signalling.Candidate) { toBooth <- c }})
	if err != nil {
		t.Fatal(err)
	}
	booth, err := engine.NewCall(call.Options{Role: signalling.CallAnswerer,
		OnCandidate: func(c signalling.Candidate) { toClinician <- c }, OnAudioPacket: pl.Push})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	relay := func(from chan signalling.Candidate, to *call.Call) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case c := <-from:
				to.AddCandidate(c)
			}
		}
	}
	wg.Add(2)
	go relay(toBooth, booth)
	go relay(toClinician, clinician)
	defer func() {
		clinician.Close()
		booth.Close()
		close(stop)
		wg.Wait()
	}()
	ctx := context.Background()
	offer, err := clinician.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := booth.Answer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := clinician.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}

	// The speaker: pull 10 ms every 10 ms until four seconds of the tone have played.
	sink := speakertest.New(pl, playout.SampleRate/100)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	guard := time.After(60 * time.Second) // against hanging only
	for pl.Stats().Decoded < 200 {
		select {
		case <-tick.C:
			sink.Pull(1)
		case <-guard:
			t.Fatalf("gave up waiting for 200 decoded frames: %+v", pl.Stats())
		}
	}
	st := pl.Stats()
	t.Logf("playout %+v", st)

	pcm := sink.PCM()
	// The synth's tone is at half scale; judge the 20 ms windows that carry it.
	nominal := 16383 / math.Sqrt2
	crossings, loud, windows := 0, 0, 0
	for i := 0; i+960 <= len(pcm); i += 960 {
		w := pcm[i : i+960]
		var e float64
		for _, s := range w {
			e += float64(s) * float64(s)
		}
		windows++
		if math.Sqrt(e/960) < 0.5*nominal {
			continue
		}
		loud++
		for j := 1; j < len(w); j++ {
			if (w[j-1] < 0) != (w[j] < 0) {
				crossings++
			}
		}
	}
	if loud < 100 {
		t.Fatalf("got %d loud 20 ms windows of %d, want at least 100 (2 s of tone)", loud, windows)
	}
	if got := float64(crossings) / 2 / (float64(loud) * 0.02); math.Abs(got-hz) > hz*0.02 {
		t.Errorf("speaker frequency: got %.1f Hz, want %d Hz ± 2%%", got, hz)
	}
	slope := 16383 * 2 * math.Sin(math.Pi*hz/playout.SampleRate)
	for i := 1; i < len(pcm); i++ {
		if d := math.Abs(float64(pcm[i]) - float64(pcm[i-1])); d > 2*slope {
			t.Errorf("click at %.3f s: step %.0f, want none above %.0f", float64(i)/playout.SampleRate, d, 2*slope)
			break
		}
	}
}
