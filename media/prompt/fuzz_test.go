package prompt

import (
	"bytes"
	"testing"
)

// ParseWAV reads a child process's output: whatever it is given, it returns samples or an
// error, never panics.
func FuzzParseWAV(f *testing.F) {
	f.Add(wav(22050, 1, []int16{1, 2, 3}, 6))
	f.Add(wav(22050, 1, []int16{1, 2, 3}, -1))
	f.Add(wav(48000, 2, []int16{1, 2, 3, 4}, 8, append([]byte("LIST\x03\x00\x00\x00abc"), 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, rate, err := ParseWAV(bytes.NewReader(data))
		if err == nil && (rate < 1000 || len(pcm) > len(data)/2) {
			t.Errorf("got %d samples at %d Hz from %d bytes", len(pcm), rate, len(data))
		}
	})
}
