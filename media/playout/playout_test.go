package playout

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The tone the clinician's side sends is what the speaker plays: the right frequency, no
// clicks, steady loudness, through loss, reordering, duplicates, jitter and a stall.
func TestPlayoutTone(t *testing.T) {
	const hz = 440
	const seconds = 8.0
	for _, tt := range []struct {
		name string
		net  network
		fec  bool
		// quietShare is the share of 20 ms windows allowed below half the tone's level
		// (concealment that faded, a stall); loudness above 1.5x is never allowed.
		quietShare float64
		// settled, if set, is when the jitter buffer must have adapted: no quiet window
		// after it.
		settled  time.Duration
		wantLoss bool // the stats must show FEC or concealment at work
	}{
		{name: "clean", net: network{}, quietShare: 0},
		{name: "5% loss with FEC", net: network{loss: 0.05}, fec: true, quietShare: 0.02, wantLoss: true},
		{name: "5% loss without FEC", net: network{loss: 0.05}, quietShare: 0.02, wantLoss: true},
		{name: "jitter 80ms, reordering, duplicates, 5% loss", net: network{loss: 0.05, jitter: 80 * time.Millisecond, dupes: 0.05},
			fec: true, quietShare: 0.03, wantLoss: true},
		// A sudden jump from none to 100 ms of jitter at 3 s costs one dropout while the
		// target delay catches up, and none once it has (2.5 s later).
		{name: "jitter rises to 100ms mid-call", net: network{jitter: 100 * time.Millisecond, calmFor: 150},
			fec: true, quietShare: 0.03, settled: 5500 * time.Millisecond},
		{name: "300ms stall then a burst", net: network{burstAt: 150, burstLen: 15, burstFor: 300 * time.Millisecond},
			fec: true, quietShare: 0.05},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			pkts := tonePackets(t, hz, seconds, tt.fec)
			arrivals, lost := tt.net.schedule(pkts, rng)
			p, clock := newTestPlayout(t)
			pcm := simulate(t, p, clock, arrivals, time.Duration(seconds*float64(time.Second)))
			st := p.Stats()
			t.Logf("lost %d of %d; stats %+v", lost, len(pkts), st)

			// Judge from 0.5 s on (start-up buffering) to the end of what was sent.
			steady := pcm[sampleRate/2 : len(pcm)-sampleRate/4]
			a := analyse(steady, hz)
			t.Logf("analysis %+v", a)
			if math.Abs(a.hz-hz) > hz*0.02 {
				t.Errorf("frequency by zero crossings: got %.1f Hz, want %d Hz ± 2%%", a.hz, hz)
			}
			if a.toneShare < 0.9 {
				t.Errorf("share of power at %d Hz (Goertzel, 100 ms windows): got %.3f, want >= 0.9", hz, a.toneShare)
			}
			limit := 2 * sineSlope(hz)
			if step, at := maxStep(pcm); float64(step) > limit {
				t.Errorf("click: got a step of %d at %.3f s, want none above %.0f (twice the tone's steepest)",
					step, float64(at)/sampleRate, limit)
			}
			nominal := toneAmp / math.Sqrt2
			if a.maxRMS > 1.5*nominal {
				t.Errorf("loudest 20 ms window (at %.2f s): RMS %.0f, want at most 1.5x the tone's %.0f", a.maxRMSAt+0.5, a.maxRMS, nominal)
			}
			quiet := a.windows - a.loud
			if share := float64(quiet) / float64(a.windows); share > tt.quietShare {
				t.Errorf("quiet 20 ms windows: got %d of %d (%.1f%%), want at most %.1f%%", quiet, a.windows, 100*share, 100*tt.quietShare)
			}
			if tt.settled > 0 && a.lastQuietAt+0.5 > tt.settled.Seconds() {
				t.Errorf("last quiet window at %.2f s, want none after %v: the buffer has not adapted", a.lastQuietAt+0.5, tt.settled)
			}
			if tt.wantLoss && st.FEC+st.Concealed == 0 {
				t.Errorf("stats: got no FEC or concealed frames with %d packets lost, want some", lost)
			}
			if tt.fec && tt.net.loss > 0 && st.FEC == 0 {
				t.Errorf("stats: got no frames rebuilt from FEC, want some with FEC on and %d lost", lost)
			}
			if tt.net.dupes > 0 && st.Duplicates == 0 && st.Late == 0 {
				t.Errorf("stats: got no duplicates dropped, want some")
			}
			if st.TargetDelay < DefaultMinDelay || st.TargetDelay > DefaultMaxDelay {
				t.Errorf("target delay: got %v, want within %v..%v", st.TargetDelay, DefaultMinDelay, DefaultMaxDelay)
			}
		})
	}
}
