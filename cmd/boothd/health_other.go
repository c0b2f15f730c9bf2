//go:build !linux

package main

import "errors"

func statfsFree(string) (int64, error) {
	return 0, errors.New("free disk space: built without statfs support")
}
