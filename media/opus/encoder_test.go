package opus

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// voice is speech-like sound: a voiced 140-180 Hz buzz with its harmonics and breath
// noise, its loudness rising and falling at syllable rate, in chunks of 10 ms (mediadevices'
// microphone hands over what it has; the encoder buffers 20 ms).
type voice struct {
	n   int
	rng *rand.Rand
}

func (v *voice) Read() (wave.Audio, func(), error) {
	if v.rng == nil {
		v.rng = rand.New(rand.NewPCG(1, 2))
	}
	chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: 480, Channels: 1, SamplingRate: SampleRate})
	for i := range chunk.Data {
		t := float64(v.n) / SampleRate
		f0 := 160 + 20*math.Sin(2*math.Pi*0.5*t)
		var s float64
		for h := 1; h <= 8; h++ {
			s += math.Sin(2*math.Pi*f0*float64(h)*t) / float64(h)
		}
		env := 0.6 + 0.4*math.Sin(2*math.Pi*4*t)
		chunk.Data[i] = int16(5000 * env * (s + 0.4*v.rng.NormFloat64()))
		v.n++
	}
	return chunk, func() {}, nil
}

// rebuilt encodes 200 packets with p, loses every fifth, and counts how many of those the
// decoder rebuilt from the next packet's redundancy (libopus falls back to concealment when
// the next packet carries none for it: the two outputs are then the same).
func rebuilt(t *testing.T, p Params) (fromFEC, lost int) {
	t.Helper()
	enc, err := p.BuildAudioEncoder(&voice{}, prop.Media{Audio: prop.Audio{SampleRate: SampleRate, ChannelCount: 1, Latency: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var pkts [][]byte
	for range 200 {
		b, _, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, b)
	}
	// replay is a decoder that has heard packets before i, the lost ones concealed: two of
	// them are in the same state, so what differs is the lost packet's rebuilding alone.
	replay := func(i int) *Decoder {
		d, err := NewDecoder(1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		for k := range i {
			if k%5 == 4 {
				d.Conceal()
			} else if _, err := d.Decode(pkts[k]); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	for i := 4; i+1 < len(pkts); i += 5 {
		lost++
		f, err := replay(i).DecodeFEC(pkts[i+1])
		if err != nil {
			t.Fatal(err)
		}
		f = append([]int16(nil), f...)
		c, err := replay(i).Conceal()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(f, c[:len(f)]) {
			fromFEC++
		}
	}
	return fromFEC, lost
}

// TestEncoderFEC: with in-band FEC, lost packets are rebuilt from the packets after them
// (those the encoder judged worth the bits: speech, not its pauses); without it the decoder
// can only conceal them.
func TestEncoderFEC(t *testing.T) {
	withFEC, lost := rebuilt(t, Params{})
	without, _ := rebuilt(t, Params{LossPercent: -1})
	t.Logf("%d packets lost: %d rebuilt from in-band FEC; with FEC off, %d", lost, withFEC, without)
	if withFEC < lost/5 {
		t.Errorf("with FEC on, %d of %d lost packets rebuilt, want a fifth or more", withFEC, lost)
	}
	if without != 0 {
		t.Errorf("with FEC off, %d lost packets rebuilt from the next: the test cannot tell", without)
	}
}

func TestEncoderRefuses(t *testing.T) {
	if _, err := (Params{}).BuildAudioEncoder(&voice{}, prop.Media{}); err == nil {
		t.Error("no sample rate: got nil error")
	}
	if _, err := (Params{LossPercent: 101}).BuildAudioEncoder(&voice{}, prop.Media{Audio: prop.Audio{SampleRate: SampleRate}}); err == nil {
		t.Error("101% loss: got nil error")
	}
}
