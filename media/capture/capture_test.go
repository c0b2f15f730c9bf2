package capture

import (
	"errors"
	"image"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/mediadevices"
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
	"github.com/pion/webrtc/v4"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantVideo  string
		wantAudio  string
		wantErr    error
		wantTracks int
	}{
		{"auto falls back to test", Config{}, videoTestLabel, audioTestLabel, nil, 2},
		{"test", Config{Video: SourceTest, Audio: SourceTest}, videoTestLabel, audioTestLabel, nil, 2},
		{"by label", Config{Video: "VideoTest", Audio: "AudioTest"}, videoTestLabel, audioTestLabel, nil, 2},
		{"video only", Config{Audio: SourceOff}, videoTestLabel, "", nil, 1},
		{"missing camera", Config{Video: "/dev/video7"}, "", "", ErrNoCamera, 0},
		{"missing microphone", Config{Audio: "hw:CARD=USB"}, "", "", ErrNoMicrophone, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.cfg, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open: got %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer s.Close()
			if got := len(s.Tracks()); got != tt.wantTracks {
				t.Errorf("tracks: got %d, want %d", got, tt.wantTracks)
			}
			if s.VideoDevice() != tt.wantVideo || s.AudioDevice() != tt.wantAudio {
				t.Errorf("devices: got %q, %q, want %q, %q", s.VideoDevice(), s.AudioDevice(), tt.wantVideo, tt.wantAudio)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// A closed Stream releases its devices, so the next call can open them again.
// Closing leaves no goroutines behind, even after frames were encoded.
func TestReopen(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 2; i++ {
		s, err := Open(Config{Video: SourceTest, Audio: SourceTest, Shared: i == 1}, nil)
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		r, err := s.Tracks()[0].(*mediadevices.VideoTrack).NewEncodedReader(webrtc.MimeTypeVP8)
		if err != nil {
			t.Fatalf("NewEncodedReader: %v", err)
		}
		if _, release, err := r.Read(); err != nil {
			t.Fatalf("Read %d: %v", i, err)
		} else {
			release()
		}
		r.Close()
		if err := s.Close(); err != nil {
			t.Fatalf("Close %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second) // a guard, not a measurement
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines after Close: got %d, want at most %d", n, before)
	}
}

func TestVideoTrackEncodes(t *testing.T) {
	s, err := Open(Config{Video: SourceTest, Audio: SourceOff, CPUUsed: -8}, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	vt := s.Tracks()[0].(*mediadevices.VideoTrack)
	r, err := vt.NewEncodedReader(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatalf("NewEncodedReader: %v", err)
	}
	defer r.Close()
	buf, release, err := r.Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	defer release()
	if len(buf.Data) == 0 {
		t.Errorf("first encoded frame: got 0 bytes, want some")
	}
}

func TestRegisterCodecs(t *testing.T) {
	m := &webrtc.MediaEngine{}
	if err := RegisterCodecs(m); err != nil {
		t.Fatalf("RegisterCodecs: %v", err)
	}
	if _, err := NewCodecSelector(Config{CPUUsed: 40}); err == nil {
		t.Errorf("NewCodecSelector with cpu-used 40: got nil error, want one")
	}
}

func TestLabelMatches(t *testing.T) {
	tests := []struct {
		label, want string
		match       bool
	}{
		{"video0;video0", "/dev/video0", true},
		{"video0;video0", "video0", true},
		{"usb-Logitech;video2", "/dev/video2", true},
		{"video0;video0", "/dev/video1", false},
	}
	for _, tt := range tests {
		if got := labelMatches(tt.label, tt.want); got != tt.match {
			t.Errorf("labelMatches(%q, %q): got %v, want %v", tt.label, tt.want, got, tt.match)
		}
	}
}

// TestSelfViewSeesWhatIsSent: the self-view is shown each frame the encoder takes, at the
// size the camera delivers it.
func TestSelfViewSeesWhatIsSent(t *testing.T) {
	var mu sync.Mutex
	var seen int
	var size image.Point
	s, err := Open(Config{Video: SourceTest, Audio: SourceOff, CPUUsed: -8,
		OnSelfFrame: func(f *image.YCbCr) {
			mu.Lock()
			seen++
			size = f.Rect.Size()
			mu.Unlock()
		}}, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	r, err := s.Tracks()[0].(*mediadevices.VideoTrack).NewEncodedReader(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatalf("NewEncodedReader: %v", err)
	}
	defer r.Close()
	const frames = 3
	for range frames {
		_, release, err := r.Read()
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		release()
	}
	mu.Lock()
	defer mu.Unlock()
	if seen < frames {
		t.Errorf("self-view frames: got %d, want at least %d (one per encoded frame)", seen, frames)
	}
	if want := image.Pt(DefaultWidth, DefaultHeight); size != want {
		t.Errorf("self-view frame size: got %v, want %v", size, want)
	}
}
