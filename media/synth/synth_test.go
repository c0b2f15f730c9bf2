package synth

import (
	"errors"
	"image"
	"math"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/carebooth/carebooth/media/capture"
)

func TestVideoPatternMovesAndHasBars(t *testing.T) {
	s := newVideoSource(clockwork.NewRealClock(), 64, 48, 1000)
	defer s.Close()
	img, _, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	y := img.(*image.YCbCr)
	first := append([]byte(nil), y.Y...)
	// The right-most bar is black (Y=16) outside the box.
	if got := y.Y[0*y.YStride+63]; got != 16 {
		t.Errorf("got Y %d at the top right, want 16 (black bar)", got)
	}
	if got := y.Y[0]; got != 235 {
		t.Errorf("got Y %d at the top left, want 235 (white bar)", got)
	}
	if _, _, err := s.Read(); err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range first {
		if first[i] != y.Y[i] {
			same = false
			break
		}
	}
	if same {
		t.Error("got two identical frames, want the box to move")
	}
}

func TestToneFrequency(t *testing.T) {
	s := newAudioSource(clockwork.NewRealClock(), 1000)
	defer s.Close()
	crossings := 0
	prev := int16(0)
	for range 50 { // one second
		a, _, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range a.(*wave.Int16Interleaved).Data {
			if prev < 0 && v >= 0 {
				crossings++
			}
			prev = v
		}
	}
	if math.Abs(float64(crossings)-1000) > 2 {
		t.Errorf("got %d rising zero crossings in one second, want 1000", crossings)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	s := newVideoSource(clockwork.NewRealClock(), 16, 16, 1) // one frame a second
	if _, _, err := s.Read(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := s.Read(); done <- err }()
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

func TestOpenRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"odd width", Config{Capture: capture.Config{Width: 641, Height: 480}}},
		{"tone above Nyquist", Config{ToneHz: 30000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Open(tt.cfg); err == nil {
				s.Close()
				t.Fatal("got nil error, want one")
			}
		})
	}
}
