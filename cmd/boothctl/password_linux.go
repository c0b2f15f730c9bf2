package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// echoOff turns off terminal echo on f if it is a terminal and returns a function that
// restores it; otherwise it does nothing.
func echoOff(f *os.File) (restore func()) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) } //nolint:errcheck
}
