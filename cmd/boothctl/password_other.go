//go:build !linux

package main

import "os"

// echoOff is not implemented here: the password is echoed. Pipe it in instead.
func echoOff(*os.File) (restore func()) { return func() {} }
