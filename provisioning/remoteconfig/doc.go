// Package remoteconfig keeps a device's remote config documents (provisioning/config
// Overlay, pushed by the switchboard) in its state directory and decides which one a
// start runs: the committed one, or a trial that must reach the switchboard within
// TrialTimeout to be committed.
//
// Three files, each written by atomicfile (temp file, fsync, rename):
//
//	remote-config.json         the committed document {version, document}
//	remote-config.trial.json   a document on trial {seq, version, document}
//	remote-config.report.json  the last outcome {seq, version, result, reason, sent}
//
// The report is the decision point: Commit and Rollback write it first and then move or
// remove the trial, and Boot finishes either one a power cut interrupted. Whatever step a
// power cut lands on, the next start runs a document that validated with the base file, or
// none. A version rolled back is not tried again when the switchboard pushes it again
// (its push was queued before the report reached it): the report is repeated instead.
package remoteconfig
