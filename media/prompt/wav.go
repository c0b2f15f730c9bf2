package prompt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrBadWAV is returned for input that is not 16-bit PCM WAV.
var ErrBadWAV = errors.New("not a 16-bit PCM WAV")

// maxWAVBytes bounds what is read: a minute of 48 kHz stereo, far beyond any prompt.
const maxWAVBytes = 60 * 48000 * 4

// ParseWAV reads a RIFF WAVE of 16-bit PCM and returns its samples, mixed down to mono, and
// its sample rate. It accepts the header a stream writer leaves behind (espeak-ng --stdout
// cannot seek back, so its RIFF and data sizes say 0x7ffff000): a data chunk longer than
// what follows ends with the input.
func ParseWAV(r io.Reader) (pcm []int16, rate int, err error) {
	data, err := io.ReadAll(io.LimitReader(r, maxWAVBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read wav: %w", err)
	}
	if len(data) > maxWAVBytes {
		return nil, 0, fmt.Errorf("wav longer than %d bytes: %w", maxWAVBytes, ErrBadWAV)
	}
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("no RIFF WAVE header: %w", ErrBadWAV)
	}
	le := binary.LittleEndian
	var channels, bits int
	haveFmt := false
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := int(le.Uint32(data[off+4 : off+8]))
		body := data[off+8:]
		if size < 0 || size > len(body) {
			if id != "data" {
				return nil, 0, fmt.Errorf("chunk %q of %d bytes runs past the end: %w", id, size, ErrBadWAV)
			}
			size = len(body) - len(body)%2 // streamed: the data is the rest
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("fmt chunk of %d bytes: %w", size, ErrBadWAV)
			}
			format := le.Uint16(body[0:2])
			channels = int(le.Uint16(body[2:4]))
			rate = int(le.Uint32(body[4:8]))
			bits = int(le.Uint16(body[14:16]))
			if format == 0xfffe && size >= 40 { // WAVE_FORMAT_EXTENSIBLE: the subformat says
				format = le.Uint16(body[24:26])
			}
			if format != 1 || bits != 16 || channels < 1 || channels > 8 || rate < 1000 || rate > 384000 {
				return nil, 0, fmt.Errorf("format %d, %d bits, %d channels, %d Hz: %w", format, bits, channels, rate, ErrBadWAV)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("data before fmt: %w", ErrBadWAV)
			}
			frames := size / 2 / channels
			pcm = make([]int16, frames)
			for i := range pcm {
				sum := 0
				for c := 0; c < channels; c++ {
					sum += int(int16(le.Uint16(body[(i*channels+c)*2:])))
				}
				pcm[i] = int16(sum / channels)
			}
			return pcm, rate, nil
		}
		off += 8 + size + size%2 // chunks are padded to even lengths
	}
	return nil, 0, fmt.Errorf("no data chunk: %w", ErrBadWAV)
}
