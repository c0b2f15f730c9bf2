package button

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Terminal is the controlling terminal opened for key-at-a-time reading. Close restores the
// terminal's previous mode.
type Terminal struct {
	f        *os.File
	old      *term.State
	fd       int
	restored sync.Once
}

// OpenTerminal opens /dev/tty and switches off line buffering and echo, so each key press is
// read at once. It does not use term.MakeRaw: raw mode also turns off ISIG (Ctrl-C would no
// longer send SIGINT) and OPOST (log lines would no longer return to column 0).
//
// /dev/tty is opened afresh rather than reading os.Stdin because a new open file is
// non-blocking and pollable, so Run can be stopped with a read deadline; putting stdin
// itself into non-blocking mode would also affect stdout and stderr, which usually share
// its open file description.
func OpenTerminal() (*Terminal, error) {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return nil, fmt.Errorf("open terminal: %w", err)
	}
	// Fd would put f back into blocking mode, so the descriptor is taken from SyscallConn.
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open terminal: %w", err)
	}
	fd := -1
	rc.Control(func(u uintptr) { fd = int(u) })
	old, err := term.GetState(fd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read terminal mode: %w", err)
	}
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read terminal mode: %w", err)
	}
	tio.Lflag &^= unix.ICANON | unix.ECHO
	tio.Cc[unix.VMIN] = 1
	tio.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		f.Close()
		return nil, fmt.Errorf("set terminal mode: %w", err)
	}
	return &Terminal{f: f, old: old, fd: fd}, nil
}

// Read reads key strokes.
func (t *Terminal) Read(p []byte) (int, error) { return t.f.Read(p) }

// SetReadDeadline lets Keyboard.Run stop a pending Read.
func (t *Terminal) SetReadDeadline(d time.Time) error { return t.f.SetReadDeadline(d) }

// Close restores the terminal's mode and closes it. It is idempotent.
func (t *Terminal) Close() error {
	var err error
	t.restored.Do(func() {
		err = term.Restore(t.fd, t.old)
		if cerr := t.f.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// IsTerminal reports whether fd (0 for stdin) is a terminal.
func IsTerminal(fd int) bool { return term.IsTerminal(fd) }
