package button

import (
	"context"
	"errors"
	"sync"

	"github.com/jonboulle/clockwork"
)

// ErrClosed is returned by Sim's Press and Hold after Close.
var ErrClosed = errors.New("button: simulated source closed")

// Sim is a Source pressed from code. Press and Hold block until the running Source has
// handed the event to its consumer, so a test knows the press is on its way; they return
// ErrClosed once Close is called.
type Sim struct {
	clock clockwork.Clock
	ch    chan Event

	closeOnce sync.Once
	done      chan struct{}
}

var _ Source = (*Sim)(nil)

// NewSim returns a simulated source that stamps events with clock (the real clock if nil).
func NewSim(clock clockwork.Clock) *Sim {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Sim{clock: clock, ch: make(chan Event), done: make(chan struct{})}
}

// Press presses and releases b.
func (s *Sim) Press(b Button) error { return s.send(Event{Button: b, Kind: Press}) }

// Hold holds b down long enough to count as a long press.
func (s *Sim) Hold(b Button) error { return s.send(Event{Button: b, Kind: LongPress}) }

// PressContext is Press that gives up when ctx is done.
func (s *Sim) PressContext(ctx context.Context, b Button, k Kind) error {
	ev := Event{Button: b, Kind: k, At: s.clock.Now()}
	select {
	case s.ch <- ev:
		return nil
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sim) send(ev Event) error {
	return s.PressContext(context.Background(), ev.Button, ev.Kind)
}

// Close makes pending and later presses return ErrClosed. It is idempotent.
func (s *Sim) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// Run forwards presses to out until ctx is done or the Sim is closed.
func (s *Sim) Run(ctx context.Context, out chan<- Event) error {
	for {
		var ev Event
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case ev = <-s.ch:
		}
		select {
		case out <- ev:
		case <-ctx.Done():
			return nil
		}
	}
}
