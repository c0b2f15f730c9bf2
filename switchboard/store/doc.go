// Package store provides the switchboard's state: clinics, clinicians, devices,
// appointments and login sessions, behind the Store interface.
//
// Two implementations exist: Bolt, a bbolt file under the state directory (one bucket per
// type, JSON values, secondary index buckets, a schema version that migrates forward,
// opened by boltfile.Open), and Memory, for tests and throw-away demos. Both pass the same contract test.
//
// Secrets never enter the store in the clear: clinician passwords are bcrypt hashes,
// device and session tokens are SHA-256 hashes computed by the caller.
package store
