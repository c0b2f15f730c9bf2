//go:build !linux

package fbdev_test

// cpuTimeExt is not measured off Linux.
func cpuTimeExt() int64 { return 0 }
