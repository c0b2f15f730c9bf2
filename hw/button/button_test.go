package button

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestSimDeliversPresses(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	sim := NewSim(clockwork.NewFakeClockAt(at))
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Event, 4)
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, out) }()

	if err := sim.Press(Join); err != nil {
		t.Fatal(err)
	}
	if err := sim.Hold(End); err != nil {
		t.Fatal(err)
	}
	want := []Event{{Join, Press, at}, {End, LongPress, at}}
	for _, w := range want {
		if got := <-out; got != w {
			t.Errorf("got %v, want %v", got, w)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: got %v, want nil", err)
	}
	sim.Close()
	sim.Close() // idempotent
	if err := sim.Press(Join); !errors.Is(err, ErrClosed) {
		t.Errorf("Press after Close: got %v, want ErrClosed", err)
	}
}

func TestSimPressContextGivesUp(t *testing.T) {
	sim := NewSim(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := sim.PressContext(ctx, Help, Press); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded with nobody running the source", err)
	}
}

func TestKeyEvent(t *testing.T) {
	tests := []struct {
		key  byte
		b    Button
		kind Kind
		ok   bool
	}{
		{'j', Join, Press, true},
		{'e', End, Press, true},
		{'E', End, LongPress, true},
		{'h', Help, Press, true},
		{'m', Mute, Press, true},
		{'+', VolumeUp, Press, true},
		{'-', VolumeDown, Press, true},
		{'x', "", 0, false},
		{'\n', "", 0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.key), func(t *testing.T) {
			b, k, ok := KeyEvent(tt.key)
			if b != tt.b || k != tt.kind || ok != tt.ok {
				t.Errorf("got %q %v %v, want %q %v %v", b, k, ok, tt.b, tt.kind, tt.ok)
			}
		})
	}
}

func TestKeyboardRun(t *testing.T) {
	pr, pw := io.Pipe()
	kb := NewKeyboard(pr, clockwork.NewFakeClock())
	out := make(chan Event, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- kb.Run(ctx, out) }()

	go pw.Write([]byte("jx?eE+-"))
	want := []struct {
		b Button
		k Kind
	}{{Join, Press}, {End, Press}, {End, LongPress}, {VolumeUp, Press}, {VolumeDown, Press}}
	for _, w := range want {
		select {
		case got := <-out:
			if got.Button != w.b || got.Kind != w.k {
				t.Errorf("got %v, want %s %v", got, w.b, w.k)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event, want %s %v", w.b, w.k)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestKeyboardEndsAtEOF(t *testing.T) {
	pr, pw := io.Pipe()
	kb := NewKeyboard(pr, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	var err error
	go func() { defer wg.Done(); err = kb.Run(context.Background(), make(chan Event, 1)) }()
	pw.Close()
	wg.Wait()
	if err != nil {
		t.Errorf("got %v, want nil at end of input", err)
	}
}
