package button

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/jonboulle/clockwork"
)

// Keyboard is a Source reading key strokes from an io.Reader, for `make run` on a
// developer's machine. See the package documentation for the key map.
type Keyboard struct {
	r     io.Reader
	clock clockwork.Clock
}

var _ Source = (*Keyboard)(nil)

// NewKeyboard returns a keyboard source reading r; events are stamped with clock (the real
// clock if nil). To be stoppable by ctx, r should have SetReadDeadline (an *os.File that
// supports deadlines, a *Terminal, a net.Conn) or Close (an *io.PipeReader); otherwise Run
// returns only when r does.
func NewKeyboard(r io.Reader, clock clockwork.Clock) *Keyboard {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Keyboard{r: r, clock: clock}
}

// KeyEvent maps one key to a button and kind.
func KeyEvent(key byte) (Button, Kind, bool) {
	switch key {
	case 'j':
		return Join, Press, true
	case 'J':
		return Join, LongPress, true
	case 'e':
		return End, Press, true
	case 'E':
		return End, LongPress, true
	case 'h':
		return Help, Press, true
	case 'H':
		return Help, LongPress, true
	case 'm':
		return Mute, Press, true
	case 'M':
		return Mute, LongPress, true
	case '+', '=': // '=' is '+' without shift on most layouts
		return VolumeUp, Press, true
	case '-', '_':
		return VolumeDown, Press, true
	}
	return "", 0, false
}

type deadliner interface{ SetReadDeadline(time.Time) error }

// Run reads keys and sends their events until ctx is done or the reader ends (io.EOF, a
// closed pipe), which both return nil. Unmapped keys are ignored.
func (k *Keyboard) Run(ctx context.Context, out chan<- Event) error {
	stop := context.AfterFunc(ctx, func() {
		// Unblock the pending Read: a deadline in the past, or closing the reader.
		if d, ok := k.r.(deadliner); ok && d.SetReadDeadline(time.Unix(1, 0)) == nil {
			return
		}
		if c, ok := k.r.(io.Closer); ok {
			c.Close()
		}
	})
	defer stop()

	buf := make([]byte, 32)
	for {
		n, err := k.r.Read(buf)
		for _, key := range buf[:n] {
			b, kind, ok := KeyEvent(key)
			if !ok {
				continue
			}
			select {
			case out <- Event{Button: b, Kind: kind, At: k.clock.Now()}:
			case <-ctx.Done():
				return nil
			}
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
	}
}
