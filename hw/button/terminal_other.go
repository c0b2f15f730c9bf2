//go:build !linux

package button

import (
	"errors"
	"time"
)

// Terminal is the controlling terminal; on this platform it cannot be opened.
type Terminal struct{}

// OpenTerminal reports that this build has no terminal support.
func OpenTerminal() (*Terminal, error) {
	return nil, errors.New("keyboard buttons: built without terminal support (Linux only)")
}

func (t *Terminal) Read(p []byte) (int, error)        { return 0, errors.New("no terminal") }
func (t *Terminal) SetReadDeadline(d time.Time) error { return errors.New("no terminal") }
func (t *Terminal) Close() error                      { return nil }

// IsTerminal reports false: this build has no terminal support.
func IsTerminal(fd int) bool { return false }
