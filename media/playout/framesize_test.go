package playout

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/carebooth/carebooth/media/playout/internal/opusenc"
)

// Senders may use 10 ms to 60 ms packets (SDP ptime); the playout follows the packets'
// length, concealment included.
func TestFrameSizes(t *testing.T) {
	const hz = 440
	for _, tt := range []struct {
		ms int
		// quietPct is the share of 20 ms windows allowed below half the tone's level. At
		// 10 ms libopus carries no FEC in its SILK frames, so every loss is left to its PLC,
		// which halves the level in the first concealed frame and recovers over the next.
		quietPct int
	}{{10, 8}, {40, 4}, {60, 4}} {
		ms := tt.ms
		t.Run(time.Duration(ms*int(time.Millisecond)).String(), func(t *testing.T) {
			n := sampleRate * ms / 1000
			enc, err := opusenc.New(32000, 10)
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			rng := rand.New(rand.NewPCG(uint64(ms), 1))
			var arrivals []arrival
			pcm := make([]int16, n)
			for i := 0; i < 4000/ms; i++ {
				for j := range pcm {
					pcm[j] = int16(toneAmp * math.Sin(2*math.Pi*hz*float64(i*n+j)/sampleRate))
				}
				payload, err := enc.Encode(pcm)
				if err != nil {
					t.Fatal(err)
				}
				if rng.Float64() < 0.05 {
					continue
				}
				arrivals = append(arrivals, arrival{
					at: time.Duration(i*ms)*time.Millisecond + 30*time.Millisecond,
					pkt: rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i * n)},
						Payload: payload},
				})
			}
			p, clock := newTestPlayout(t)
			out := simulate(t, p, clock, arrivals, 4*time.Second)
			st := p.Stats()
			a := analyse(out[sampleRate/2:len(out)-sampleRate/4], hz)
			t.Logf("stats %+v; analysis %+v", st, a)
			if math.Abs(a.hz-hz) > hz*0.02 || a.toneShare < 0.9 {
				t.Errorf("got %.1f Hz (share %.2f), want %d Hz", a.hz, a.toneShare, hz)
			}
			if quiet := a.windows - a.loud; quiet > a.windows*tt.quietPct/100 {
				t.Errorf("quiet windows: %d of %d, want at most %d%%", quiet, a.windows, tt.quietPct)
			}
			if step, at := maxStep(out); float64(step) > 2*sineSlope(hz) {
				t.Errorf("click: step %d at %.3f s", step, float64(at)/sampleRate)
			}
		})
	}
}
