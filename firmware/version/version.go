package version

import "runtime/debug"

// version is set at link time; see doc.go.
var version = ""

// String returns the stamped version, the module version when built with `go install`, or
// "dev" for an unstamped local build.
func String() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
