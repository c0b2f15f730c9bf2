package capture

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestProbe: the test camera gives a frame of the size asked and the test microphone
// sound; a missing device and one that is off say so.
func TestProbe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := ProbeCamera(ctx, Config{Video: SourceTest}, nil)
	if err != nil || !strings.Contains(got, "640x480") {
		t.Fatalf("camera: got %q, %v; want a 640x480 frame", got, err)
	}
	got, err = ProbeMicrophone(ctx, Config{Audio: SourceTest}, nil)
	if err != nil || !strings.Contains(got, "48000 Hz") {
		t.Fatalf("microphone: got %q, %v; want 48000 Hz sound", got, err)
	}
	if _, err := ProbeCamera(ctx, Config{Video: "/dev/video7"}, nil); !errors.Is(err, ErrNoCamera) {
		t.Fatalf("missing camera: got %v, want ErrNoCamera", err)
	}
	if _, err := ProbeMicrophone(ctx, Config{Audio: "hw:CARD=USB"}, nil); !errors.Is(err, ErrNoMicrophone) {
		t.Fatalf("missing microphone: got %v, want ErrNoMicrophone", err)
	}
	if _, err := ProbeCamera(ctx, Config{Video: SourceOff}, nil); !errors.Is(err, ErrNotProbed) {
		t.Fatalf("camera off: got %v, want ErrNotProbed", err)
	}
	// The devices are closed after a probe: it can run again at once.
	if _, err := ProbeCamera(ctx, Config{Video: SourceTest}, nil); err != nil {
		t.Fatalf("second probe: %v", err)
	}
}
