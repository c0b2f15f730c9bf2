package playout

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/rtp"

	"github.com/carebooth/carebooth/hw/speaker/speakertest"
	"github.com/carebooth/carebooth/media/playout/internal/opusenc"
)

const (
	frameLen  = sampleRate / 50  // 20 ms packets
	blockLen  = sampleRate / 100 // the sink's 10 ms period
	toneAmp   = 0.5 * 32767
	testSSRC  = 0x5eed
	firstSeq  = 65500      // wraps within the first two seconds
	firstTime = 4294960000 // so does the timestamp
)

// network describes how packets travel from the clinician to the booth.
type network struct {
	loss     float64       // probability a packet is lost
	jitter   time.Duration // each packet is delayed by a uniform 0..jitter on top of the base delay
	dupes    float64       // probability a packet arrives twice
	burstAt  int           // if > 0, packets from burstAt to burstAt+burstLen are held back...
	burstLen int
	burstFor time.Duration // ...by this long (a Wi-Fi stall), then arrive together
	calmFor  int           // the first calmFor packets see no jitter (it starts mid-call)
}

// arrival is one packet reaching the booth at a moment of simulated time.
type arrival struct {
	at  time.Duration
	pkt rtp.Packet
}

// tonePackets encodes seconds of a sine at hz into 20 ms RTP packets, FEC on when fec.
func tonePackets(t testing.TB, hz float64, seconds float64, fec bool) []rtp.Packet {
	t.Helper()
	return encodePackets(t, seconds, fec, func(k int) float64 { return math.Sin(2 * math.Pi * hz * float64(k) / sampleRate) })
}

// burstPackets is a tone in 200 ms bursts with 200 ms pauses, as speech has pauses where a
// frame can be dropped unheard. FEC is on.
func burstPackets(t testing.TB, hz float64, seconds float64) []rtp.Packet {
	t.Helper()
	return encodePackets(t, seconds, true, func(k int) float64 {
		if (k/(sampleRate/5))%2 == 1 {
			return 0
		}
		return math.Sin(2 * math.Pi * hz * float64(k) / sampleRate)
	})
}

// encodePackets encodes seconds of wave(sample index) * toneAmp into 20 ms RTP packets.
func encodePackets(t testing.TB, seconds float64, fec bool, wave func(k int) float64) []rtp.Packet {
	t.Helper()
	loss := 0
	if fec {
		loss = 10
	}
	enc, err := opusenc.New(32000, loss)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	n := int(seconds * 50)
	pkts := make([]rtp.Packet, 0, n)
	pcm := make([]int16, frameLen)
	for i := 0; i < n; i++ {
		for j := range pcm {
			k := i*frameLen + j
			pcm[j] = int16(toneAmp * wave(k))
		}
		payload, err := enc.Encode(pcm)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, rtp.Packet{
			Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: testSSRC,
				SequenceNumber: uint16(firstSeq + i), Timestamp: uint32(firstTime + i*frameLen)},
			Payload: payload,
		})
	}
	return pkts
}

// schedule sends packet i at i*20 ms and says when each copy arrives, in arrival order.
func (n network) schedule(pkts []rtp.Packet, rng *rand.Rand) (out []arrival, lost int) {
	const base = 30 * time.Millisecond
	for i, p := range pkts {
		if rng.Float64() < n.loss {
			lost++
			continue
		}
		at := time.Duration(i)*20*time.Millisecond + base
		if n.jitter > 0 && i >= n.calmFor {
			at += time.Duration(rng.Int64N(int64(n.jitter)))
		}
		if n.burstLen > 0 && i >= n.burstAt && i < n.burstAt+n.burstLen {
			at = time.Duration(n.burstAt)*20*time.Millisecond + base + n.burstFor
		}
		out = append(out, arrival{at: at, pkt: p})
		if rng.Float64() < n.dupes {
			out = append(out, arrival{at: at + time.Duration(rng.Int64N(int64(10*time.Millisecond))), pkt: p})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].at < out[b].at })
	return out, lost
}

// simulate plays arrivals through a Playout into a test sink: simulated time advances in
// 1 ms steps on a fake clock, packets are pushed when they arrive, and the sink pulls a
// 10 ms block every 10 ms. Nothing waits on the wall clock.
func simulate(t testing.TB, p *Playout, clock *clockwork.FakeClock, arrivals []arrival, total time.Duration) []int16 {
	return simulateWith(t, p, clock, arrivals, total, nil)
}

// simulateWith is simulate calling at(now) every millisecond, for button presses.
func simulateWith(t testing.TB, p *Playout, clock *clockwork.FakeClock, arrivals []arrival, total time.Duration, at func(time.Duration)) []int16 {
	t.Helper()
	sink := speakertest.New(p, blockLen)
	next := 0
	for now := time.Duration(0); now < total; now += time.Millisecond {
		if at != nil {
			at(now)
		}
		for next < len(arrivals) && arrivals[next].at <= now {
			p.Push(&arrivals[next].pkt)
			next++
		}
		if now%(10*time.Millisecond) == 0 {
			sink.Pull(1)
		}
		clock.Advance(time.Millisecond)
	}
	return sink.PCM()
}

func newTestPlayout(t testing.TB) (*Playout, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	p, err := New(Config{Clock: clock, Volume: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, clock
}

// goertzel returns the power of pcm at hz relative to its total power (1 for a pure tone).
// The window must not span a phase jump (a dropped frame, a silence), or the tone cancels
// itself out: analyse judges short windows.
func goertzel(pcm []int16, hz float64) float64 {
	w := 2 * math.Pi * hz / sampleRate
	c := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, x := range pcm {
		v := float64(x)
		s0 := v + c*s1 - s2
		s2, s1 = s1, s0
		total += v * v
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	if total == 0 {
		return 0
	}
	return p / (float64(len(pcm)) * total / 2)
}

// analysis judges pcm in 20 ms windows: loud ones are those above half the tone's RMS.
type analysis struct {
	windows, loud int
	hz            float64 // by zero crossings inside loud windows
	toneShare     float64 // mean Goertzel share at the tone's frequency over loud 100 ms windows
	maxRMS        float64
	maxRMSAt      float64 // seconds from the start of pcm
	lastQuietAt   float64 // seconds from the start of pcm of the last quiet window, -1 if none
}

func analyse(pcm []int16, hz float64) analysis {
	const win = frameLen
	nominal := toneAmp / math.Sqrt2
	a := analysis{lastQuietAt: -1}
	crossings, loudSamples := 0, 0
	for i := 0; i+win <= len(pcm); i += win {
		w := pcm[i : i+win]
		r := rmsInt16(w)
		a.windows++
		if r > a.maxRMS {
			a.maxRMS, a.maxRMSAt = r, float64(i)/sampleRate
		}
		if r < 0.5*nominal {
			a.lastQuietAt = float64(i) / sampleRate
			continue
		}
		a.loud++
		loudSamples += win
		for j := 1; j < len(w); j++ {
			if (w[j-1] < 0) != (w[j] < 0) {
				crossings++
			}
		}
	}
	if loudSamples > 0 {
		a.hz = float64(crossings) / 2 / (float64(loudSamples) / sampleRate)
	}
	const long = sampleRate / 10
	var share float64
	n := 0
	for i := 0; i+long <= len(pcm); i += long {
		w := pcm[i : i+long]
		if rmsInt16(w) < 0.5*nominal {
			continue
		}
		share += goertzel(w, hz)
		n++
	}
	if n > 0 {
		a.toneShare = share / float64(n)
	}
	return a
}

// maxStep is the largest sample-to-sample jump, and where it is.
func maxStep(pcm []int16) (int, int) {
	best, at := 0, 0
	for i := 1; i < len(pcm); i++ {
		d := int(pcm[i]) - int(pcm[i-1])
		if d < 0 {
			d = -d
		}
		if d > best {
			best, at = d, i
		}
	}
	return best, at
}

// toneAmplitude is the amplitude of the component of pcm at hz (exact for whole cycles).
func toneAmplitude(pcm []int16, hz float64) float64 {
	w := 2 * math.Pi * hz / sampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / float64(len(pcm))
}

// span returns pcm between two moments.
func span(pcm []int16, from, to time.Duration) []int16 {
	return pcm[samples(from):samples(to)]
}

func rmsInt16(pcm []int16) float64 {
	var e float64
	for _, x := range pcm {
		e += float64(x) * float64(x)
	}
	return math.Sqrt(e / float64(max(len(pcm), 1)))
}

// sineSlope is the largest sample-to-sample step of the test tone at hz: a jump much
// bigger than it is a click.
func sineSlope(hz float64) float64 { return toneAmp * 2 * math.Sin(math.Pi*hz/sampleRate) }
