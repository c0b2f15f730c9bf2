package playout

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/rtp"

	"github.com/carebooth/carebooth/media/opus"
)

// benchmarkPlayout pushes one 20 ms packet and plays 20 ms per iteration, in the sink's
// 10 ms periods, losing a share of packets; it reports the cost per 20 ms block and as a
// share of one core (which must stay far below 100% on a Raspberry Pi 4).
func benchmarkPlayout(b *testing.B, loss float64) {
	src := tonePackets(b, 440, 1, true)
	clock := clockwork.NewFakeClock()
	p, err := New(Config{Clock: clock, Volume: 0.8})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	out := make([]int16, blockLen)
	var pkt rtp.Packet
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt = src[i%len(src)]
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i * frameLen)
		if rng.Float64() >= loss {
			p.Push(&pkt)
		}
		p.Read(out)
		p.Read(out)
		clock.Advance(20 * time.Millisecond)
	}
	b.StopTimer()
	reportBlock(b)
	st := p.Stats()
	b.ReportMetric(float64(st.FEC+st.Concealed)/float64(b.N)*100, "%concealed")
}

func reportBlock(b *testing.B) {
	perBlock := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perBlock, "ns/20ms")
	b.ReportMetric(perBlock/float64(20*time.Millisecond)*100, "%core")
}

func BenchmarkPlayout(b *testing.B)       { benchmarkPlayout(b, 0) }
func BenchmarkPlayoutLoss5(b *testing.B)  { benchmarkPlayout(b, 0.05) }
func BenchmarkPlayoutLoss20(b *testing.B) { benchmarkPlayout(b, 0.20) }

// BenchmarkOpusDecode is the decoder alone, for the ratio: what the playout adds on top.
func BenchmarkOpusDecode(b *testing.B) {
	src := tonePackets(b, 440, 1, true)
	dec, err := opus.NewDecoder(1)
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := dec.Decode(src[i%len(src)].Payload); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportBlock(b)
}

// BenchmarkShorten is one accelerate (the most expensive stretch: the widest lag search),
// which happens at most every third frame while the delay is over its target.
func BenchmarkShorten(b *testing.B) {
	x := toneFloat(180, 2*frameLen)
	var dst []float32
	for i := 0; i < b.N; i++ {
		dst, _ = shorten(dst, x, frameLen)
	}
	b.StopTimer()
	// At most one per three 20 ms frames: its share of a core while accelerating.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(60*time.Millisecond)*100, "%core-accelerating")
}
