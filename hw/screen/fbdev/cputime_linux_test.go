package fbdev

import "golang.org/x/sys/unix"

// cpuTime is the process's user+system CPU time in nanoseconds, so benchmarks can report
// CPU cost rather than wall time on a shared, noisy machine.
func cpuTime() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
