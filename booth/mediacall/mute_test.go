package mediacall

import (
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carebooth/carebooth/booth"
	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
)

// The Mute button: the clinician hears the booth's tone, then silence while muted, then
// the tone again, over a real pion call.
func TestMuteSilencesTheMicrophone(t *testing.T) {
	engine := loopbackEngine(t)
	caller, err := New(engine, Config{Capture: capture.Config{Video: capture.SourceOff, Audio: capture.SourceTest}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var level atomic.Uint64 // float64 bits: RMS of the last decoded block at the clinician
	var blocks atomic.Int64
	ac, _ := answerClinician(t, engine, caller, call.Options{
		OnAudio: func(pcm []int16) {
			var sum float64
			for _, v := range pcm {
				sum += float64(v) * float64(v)
			}
			level.Store(math.Float64bits(math.Sqrt(sum / float64(max(len(pcm), 1)))))
			blocks.Add(1)
		},
	})

	// waitLevel waits until 25 blocks in a row (half a second) satisfy ok.
	waitLevel := func(what string, ok func(rms float64) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		run, last := 0, blocks.Load()
		for run < 25 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s (last RMS %.0f)", what, math.Float64frombits(level.Load()))
			}
			time.Sleep(5 * time.Millisecond)
			if n := blocks.Load(); n != last {
				last = n
				if ok(math.Float64frombits(level.Load())) {
					run++
				} else {
					run = 0
				}
			}
		}
	}
	// The test tone is a quarter of full scale: RMS about 5800.
	waitLevel("the tone before muting", func(rms float64) bool { return rms > 2000 })
	m, ok := ac.(booth.Muter)
	if !ok {
		t.Fatal("the call does not implement booth.Muter")
	}
	if err := m.SetMuted(true); err != nil {
		t.Fatal(err)
	}
	waitLevel("silence while muted", func(rms float64) bool { return rms < 50 })
	if err := m.SetMuted(false); err != nil {
		t.Fatal(err)
	}
	waitLevel("the tone again after unmuting", func(rms float64) bool { return rms > 2000 })
}
