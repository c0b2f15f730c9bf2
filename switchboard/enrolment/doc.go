// Package enrolment is the switchboard's side of enrolling a device: the activation codes
// waiting for an admin, each bound to the key of the device that asked for it, and the
// limits that make codes hard to guess.
//
// A device asks with a request signed by its key (provisioning/enrol); the Registry gives
// it a fresh code, or the one it already has while that is pending, so a device that
// restarts shows the same code. A code is single-use and expires after
// enrol.CodeLifetime. Approving checks the code before anything else and counts every
// code that matches nothing: per source address (MaxMissesPerSource in MissWindow) and
// in total (MaxMisses in MissWindow, so a botnet spread over many addresses is stopped
// too). At 40 bits a code survives the total limit for longer than its day of life by a
// factor of about 10^8.
//
// Pending codes are kept in memory, bounded (MaxPending in all, MaxPendingPerSource per
// address): a switchboard restart forgets them, and each waiting device asks again and
// shows its new code. Approved devices are the store's.
package enrolment
