// Package health provides the checks a firmware release must pass before it is
// committed: a Runner of named checks, each with its own timeout, run together, all of
// which must pass; when any fails, the error names each that failed and why, for the
// rollback's record and the device's report. boothd builds the booth's own checks (the
// switchboard reachable, the camera and the microphone open, a screen drawn) from its
// parts and hands the Runner to slot.Manager.Confirm; Reachable is the generic one for
// an HTTP endpoint.
//
// A check must return when its context is done. Run does not wait past a check's
// timeout: a check that ignores its context is reported as timed out and left to finish
// on its own (its result is dropped), the one goroutine here without a waiting owner,
// since a hung camera driver must not hold the rollback up.
package health
