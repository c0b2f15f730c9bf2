package vp8

import "runtime"

// DefaultCPUUsed returns the VP8E_SET_CPUUSED value used when [Params.CPUUsed] is zero, for a
// frame of width x height on this machine. See the package documentation for where the
// figures come from.
func DefaultCPUUsed(width, height int) int {
	return defaultCPUUsed(runtime.GOARCH, runtime.NumCPU(), width, height)
}

func defaultCPUUsed(arch string, cores, width, height int) int {
	switch arch {
	case "arm", "arm64":
	default:
		return -6
	}
	pixels := width * height
	switch {
	case cores <= 3:
		return -12
	case pixels <= 352*288:
		return -8
	case pixels <= 640*480:
		return -10
	default:
		return -12
	}
}

// DefaultThreads returns the encoder thread count used when [Params.Threads] is zero,
// following libwebrtc's NumberOfThreads for VP8: more threads only pay off for bigger frames.
func DefaultThreads(width, height int) int {
	return defaultThreads(runtime.NumCPU(), width, height)
}

func defaultThreads(cores, width, height int) int {
	pixels := width * height
	switch {
	case pixels >= 1920*1080 && cores > 8:
		return 8
	case pixels > 1280*960 && cores >= 6:
		return 3
	case pixels > 640*480 && cores >= 3:
		return 2
	case pixels >= 640*480 && cores > 3:
		return 2
	default:
		return 1
	}
}
