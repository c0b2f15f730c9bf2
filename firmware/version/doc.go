// Package version provides the version of the running Carebooth build. The Makefile stamps
// it with -ldflags "-X github.com/carebooth/carebooth/firmware/version.version=...", so a
// booth reports to the switchboard exactly which firmware it runs.
package version
