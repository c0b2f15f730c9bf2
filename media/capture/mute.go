package capture

import (
	"sync/atomic"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// Mute silences the microphone of the streams opened with it (Config.Mute): while it is
// on, the encoder is fed digital silence. The track, the encoder and the RTP stream stay
// as they are, so unmuting is instant and nothing is renegotiated; Opus codes silence in a
// few bytes a frame. Safe for concurrent use.
type Mute struct{ on atomic.Bool }

// Set mutes (true) or unmutes (false).
func (m *Mute) Set(on bool) { m.on.Store(on) }

// On reports whether the microphone is muted.
func (m *Mute) On() bool { return m.on.Load() }

// mutedAudio is an audio encoder builder whose input passes through a Mute.
type mutedAudio struct {
	codec.AudioEncoderBuilder
	mute *Mute
}

func (b mutedAudio) BuildAudioEncoder(r audio.Reader, p prop.Media) (codec.ReadCloser, error) {
	var silent wave.Audio // reused while the chunk size stays the same
	gated := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		chunk, release, err := r.Read()
		if err != nil || !b.mute.On() {
			return chunk, release, err
		}
		// The driver's chunk may be shared with other readers: never zero it in place.
		info := chunk.ChunkInfo()
		if silent == nil || silent.ChunkInfo() != info {
			silent = silence(chunk, info)
		}
		if release != nil {
			release()
		}
		return silent, func() {}, nil
	})
	return b.AudioEncoderBuilder.BuildAudioEncoder(gated, p)
}

// silence returns a silent chunk of the same shape and sample format as like.
func silence(like wave.Audio, info wave.ChunkInfo) wave.Audio {
	switch like.(type) {
	case *wave.Float32Interleaved:
		return wave.NewFloat32Interleaved(info)
	case *wave.Float32NonInterleaved:
		return wave.NewFloat32NonInterleaved(info)
	case *wave.Int16NonInterleaved:
		return wave.NewInt16NonInterleaved(info)
	default:
		return wave.NewInt16Interleaved(info)
	}
}
