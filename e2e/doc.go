// Package e2e holds Carebooth's end-to-end tests and benchmarks: a real switchboard, a
// real booth (package booth with media/call and test sources) and a clinician, either a
// headless pion client or headless Chromium, talking over loopback.
//
// The package has no non-test code beyond this file; the harness is in harness_test.go.
package e2e
