// Package update is boothd's firmware update loop (docs/firmware.md, "The update loop"):
// it asks the switchboard for the release meant for this booth, refuses one for another
// target or not newer than the running version (unless the release allows downgrades),
// waits until the booth is idle (never during a call), downloads it with resume
// (firmware/download), checks its signature and every hash while unpacking it
// (firmware/bundle.Extract) before anything is installed, installs it into the inactive
// slot (firmware/slot) and asks for a restart. At the next start, Start counts the try,
// runs the health checks and commits or rolls back. Every step, and every refusal with
// its reason, is reported to the switchboard; the outcome of an install is kept in a
// small file until the switchboard has it, so a restart or a lost connection cannot
// lose it.
package update
