// Package mediacall adapts media/call and media/capture to booth.Caller, so package booth
// stays free of pion and cgo and its tests run with a fake.
//
// Each call opens the camera and microphone afresh (capture.Open) and releases them when
// the call closes, so the camera is off, and its light dark, between consultations.
package mediacall
