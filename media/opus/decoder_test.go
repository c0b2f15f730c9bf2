package opus

import (
	"errors"
	"math"
	"testing"

	"github.com/pion/mediadevices/pkg/codec"
	mdopus "github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// sineEncoder encodes a mono sine of freq Hz in 20 ms packets with mediadevices' encoder,
// which links its own libopus; this package links the system's.
func sineEncoder(t *testing.T, freq float64) codec.ReadCloser {
	t.Helper()
	const chunk = SampleRate / 50
	pos := 0
	src := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		a := wave.NewInt16Interleaved(wave.ChunkInfo{Len: chunk, Channels: 1, SamplingRate: SampleRate})
		for i := 0; i < chunk; i++ {
			v := 0.5 * math.Sin(2*math.Pi*freq*float64(pos)/SampleRate)
			a.SetInt16(i, 0, wave.Int16Sample(v*math.MaxInt16))
			pos++
		}
		return a, func() {}, nil
	})
	p, err := mdopus.NewParams()
	if err != nil {
		t.Fatalf("opus.NewParams: %v", err)
	}
	p.BitRate = 32000
	enc, err := p.BuildAudioEncoder(src, prop.Media{Audio: prop.Audio{SampleRate: SampleRate, ChannelCount: 1}})
	if err != nil {
		t.Fatalf("BuildAudioEncoder: %v", err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

// frequency estimates the frequency of a mono signal from its zero crossings.
func frequency(pcm []int16) float64 {
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(len(pcm)) / SampleRate)
}

func TestEncodeDecodeSine(t *testing.T) {
	for _, tt := range []struct {
		name     string
		freq     float64
		channels int
	}{
		{"440 Hz mono", 440, 1},
		{"1 kHz stereo out", 1000, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc := sineEncoder(t, tt.freq)
			dec, err := NewDecoder(tt.channels)
			if err != nil {
				t.Fatalf("NewDecoder: %v", err)
			}
			defer dec.Close()
			var mono []int16
			for i := 0; i < 50; i++ {
				pkt, release, err := enc.Read()
				if err != nil {
					t.Fatalf("encode packet %d: %v", i, err)
				}
				pcm, err := dec.Decode(pkt)
				release()
				if err != nil {
					t.Fatalf("Decode packet %d: %v", i, err)
				}
				if got, want := len(pcm), SampleRate/50*tt.channels; got != want {
					t.Fatalf("packet %d: got %d samples, want %d", i, got, want)
				}
				if i < 10 { // skip the encoder's start-up
					continue
				}
				for j := 0; j < len(pcm); j += tt.channels {
					mono = append(mono, pcm[j])
				}
			}
			if got := frequency(mono); math.Abs(got-tt.freq) > tt.freq*0.05 {
				t.Errorf("decoded frequency: got %.0f Hz, want %.0f Hz", got, tt.freq)
			}
		})
	}
}

func TestConcealment(t *testing.T) {
	enc := sineEncoder(t, 440)
	dec, err := NewDecoder(1)
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	defer dec.Close()
	var pkts [][]byte
	for i := 0; i < 12; i++ {
		pkt, release, err := enc.Read()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		pkts = append(pkts, append([]byte(nil), pkt...))
		release()
	}
	for i := 0; i < 10; i++ {
		if _, err := dec.Decode(pkts[i]); err != nil {
			t.Fatalf("Decode %d: %v", i, err)
		}
	}
	// Packet 10 is lost: rebuild it from 11, then decode 11; and conceal one more gap.
	pcm, err := dec.DecodeFEC(pkts[11])
	if err != nil {
		t.Fatalf("DecodeFEC: %v", err)
	}
	if got, want := len(pcm), SampleRate/50; got != want {
		t.Errorf("DecodeFEC: got %d samples, want %d", got, want)
	}
	if _, err := dec.Decode(pkts[11]); err != nil {
		t.Fatalf("Decode after FEC: %v", err)
	}
	pcm, err = dec.Conceal()
	if err != nil {
		t.Fatalf("Conceal: %v", err)
	}
	if got, want := len(pcm), SampleRate/50; got != want {
		t.Errorf("Conceal: got %d samples, want %d", got, want)
	}
	var energy float64
	for _, s := range pcm {
		energy += float64(s) * float64(s)
	}
	if energy == 0 {
		t.Errorf("Conceal: got silence, want a continuation of the tone")
	}
}

func TestDecoderErrors(t *testing.T) {
	if _, err := NewDecoder(3); err == nil {
		t.Errorf("NewDecoder(3): got nil error, want one")
	}
	dec, err := NewDecoder(1)
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	tests := []struct {
		name   string
		packet []byte
		want   error
	}{
		{"empty", nil, ErrEmptyPacket},
		// TOC code 3 (arbitrary frame count) with a frame count byte of 0 is invalid.
		{"invalid", []byte{0x03, 0x00}, ErrInvalidPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dec.Decode(tt.packet); !errors.Is(err, tt.want) {
				t.Errorf("Decode: got %v, want %v", err, tt.want)
			}
		})
	}
	dec.Close()
	dec.Close()
	if _, err := dec.Decode([]byte{0xf8, 0xff, 0xfe}); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: got %v, want %v", err, ErrClosed)
	}
}
