//go:build !linux

package fbdev

// cpuTime is not measured off Linux; benchmarks then report wall time only.
func cpuTime() int64 { return 0 }
