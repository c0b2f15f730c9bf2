// Package speakertest is a speaker for tests: a sink that pulls sound from a
// speaker.Source in fixed blocks when the test says so, and records it. The test is the
// sound card's clock.
package speakertest

import (
	"sync"

	"github.com/carebooth/carebooth/hw/speaker"
)

// Sink pulls blocks from a source and keeps every sample. Its methods are safe for
// concurrent use.
type Sink struct {
	src   speaker.Source
	block int

	mu  sync.Mutex
	pcm []int16
}

// New returns a sink pulling block samples at a time (480 is a 10 ms period at 48 kHz).
func New(src speaker.Source, block int) *Sink {
	return &Sink{src: src, block: max(block, 1)}
}

// Pull asks the source for n blocks, as a sound card would over n periods, records them and
// returns them (a copy).
func (s *Sink) Pull(n int) []int16 {
	buf := make([]int16, n*s.block)
	for i := 0; i < n; i++ {
		s.src.Read(buf[i*s.block : (i+1)*s.block])
	}
	s.mu.Lock()
	s.pcm = append(s.pcm, buf...)
	s.mu.Unlock()
	return buf
}

// PCM returns a copy of everything recorded.
func (s *Sink) PCM() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.pcm...)
}

// Len is how many samples have been recorded.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pcm)
}
