package button

import (
	"context"
	"errors"
	"testing"
	"time"
)

type failing struct{ err error }

func (f failing) Run(ctx context.Context, out chan<- Event) error { return f.err }

func TestMerge(t *testing.T) {
	a, b := NewSim(nil), NewSim(nil)
	m := Merge(a, b)
	out := make(chan Event, 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, out) }()
	if err := a.Press(Join); err != nil {
		t.Fatal(err)
	}
	if err := b.Hold(End); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{(<-out).String(): true, (<-out).String(): true}
	if !got["join press"] || !got["end long_press"] {
		t.Errorf("got %v, want join press and end long_press", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("got %v, want nil after cancel", err)
		}
	case <-time.After(hang):
		t.Fatal("Run did not return after cancel")
	}

	// A failing source stops the others and its error is returned.
	boom := errors.New("boom")
	c := NewSim(nil)
	if err := Merge(c, failing{boom}).Run(context.Background(), out); !errors.Is(err, boom) {
		t.Errorf("got %v, want boom", err)
	}
	if Merge(c) != Source(c) {
		t.Error("Merge of one source: got a wrapper, want the source itself")
	}
}
