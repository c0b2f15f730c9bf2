package playout

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// Whatever the network does (loss, jitter, reordering, duplicates, stalls, in random
// mixtures), the speaker never clicks and never plays louder than the tone, and every
// packet is accounted for.
func TestRandomNetworks(t *testing.T) {
	const hz = 440
	pkts := tonePackets(t, hz, 4, true)
	limit := 2 * sineSlope(hz)
	nominal := toneAmp / math.Sqrt2
	for seed := uint64(1); seed <= 16; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		net := network{
			loss:   rng.Float64() * 0.2,
			jitter: time.Duration(rng.Int64N(int64(150 * time.Millisecond))),
			dupes:  rng.Float64() * 0.1,
		}
		if rng.IntN(2) == 0 {
			net.burstAt, net.burstLen, net.burstFor = 20+rng.IntN(100), 1+rng.IntN(20), time.Duration(rng.Int64N(int64(time.Second)))
		}
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			arrivals, _ := net.schedule(pkts, rng)
			p, clock := newTestPlayout(t)
			pcm := simulate(t, p, clock, arrivals, 5*time.Second)
			st := p.Stats()
			if step, at := maxStep(pcm); float64(step) > limit {
				t.Errorf("%+v: click of %d at %.3f s, want none above %.0f; stats %+v", net, step, float64(at)/sampleRate, limit, st)
			}
			if a := analyse(pcm, hz); a.maxRMS > 1.5*nominal {
				t.Errorf("%+v: a 20 ms window at RMS %.0f, want at most %.0f", net, a.maxRMS, 1.5*nominal)
			}
			if st.Packets != uint64(len(arrivals)) {
				t.Errorf("packets: got %d, want the %d that arrived", st.Packets, len(arrivals))
			}
			if st.TargetDelay < DefaultMinDelay || st.TargetDelay > DefaultMaxDelay {
				t.Errorf("target %v outside %v..%v", st.TargetDelay, DefaultMinDelay, DefaultMaxDelay)
			}
		})
	}
}
