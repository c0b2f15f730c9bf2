package netwatch

import (
	"errors"
	"time"
)

// Settle is how long a burst of changes is waited out before one notice is given.
const Settle = 200 * time.Millisecond

// ErrUnsupported is returned by Watch where there is no way to watch the network.
var ErrUnsupported = errors.New("watching the network is not supported here")

// Watcher gives a notice on C after each burst of network changes.
type Watcher struct {
	// C receives a value after a burst of changes has settled; it holds one, so a slow
	// reader misses no change, only repeats of it.
	C    <-chan struct{}
	stop func() error
	done chan struct{}
}

// Close stops watching and waits for the watcher's goroutine; it is idempotent.
func (w *Watcher) Close() error {
	err := w.stop()
	<-w.done
	return err
}
