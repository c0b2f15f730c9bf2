// Package logring keeps a daemon's most recent log lines in memory, so that IT can ask a
// booth for them from the switchboard (GET /api/v1/devices/{id}/logs) without a shell on
// a device they cannot visit.
//
// A Ring is an io.Writer for a slog.TextHandler: slog writes each record with one Write
// call, so each Write is one line. Tee sends every record to the daemon's own handler
// (journald) and to the ring's. Nothing is written to disk, the ring holds a fixed
// number of lines of a bounded length, and it starts empty at every start: it is a
// window on the last few minutes, not a second log store.
package logring
