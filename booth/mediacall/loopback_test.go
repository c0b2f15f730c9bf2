package mediacall

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/signalling"
	"github.com/pion/webrtc/v4"
)

// loopbackEngine is a media engine for calls over 127.0.0.1, the only network here.
func loopbackEngine(t *testing.T) *call.Engine {
	t.Helper()
	engine, err := call.NewEngine(call.EngineConfig{
		Logger:       slog.New(slog.DiscardHandler),
		Loopback:     true,
		NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
		DisableMDNS:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

// answerClinician starts the booth's side of a call with caller and a pion clinician
// offerer with opts (its Role and OnCandidate are set here), exchanges the offer, answer
// and candidates, and returns both sides. The candidate relays stop, and both calls
// close, at cleanup; a test may close them earlier.
func answerClinician(t *testing.T, engine *call.Engine, caller *Caller, opts call.Options) (booth.ActiveCall, *call.Call) {
	t.Helper()
	toBooth := make(chan signalling.Candidate, 64)
	toClinician := make(chan signalling.Candidate, 64)
	opts.Role = signalling.CallOfferer
	opts.OnCandidate = func(c signalling.Candidate) { toBooth <- c }
	clinician, err := engine.NewCall(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { clinician.Close() })
	ctx := context.Background()
	ac, err := caller.StartCall(ctx, booth.CallParams{CallID: "call-1", OnCandidate: func(c signalling.Candidate) { toClinician <- c }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ac.Close() })
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
	relayCandidates(t, toBooth, ac.AddCandidate)
	relayCandidates(t, toClinician, clinician.AddCandidate)
	return ac, clinician
}

// relayCandidates adds every candidate from from with add until the test's cleanup, which
// waits for it. Registered after the calls' cleanups, it runs before them.
func relayCandidates(t *testing.T, from <-chan signalling.Candidate, add func(signalling.Candidate) error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case c := <-from:
				add(c) //nolint:errcheck // a bad candidate shows up as no connection
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
}
