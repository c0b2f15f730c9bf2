// Package synth provides synthetic media sources: a moving colour-bar pattern and a sine
// tone, paced in real time and wrapped as mediadevices tracks with Carebooth's encoders.
//
// mediadevices' own test drivers (videotest, audiotest) live in its process-wide driver
// registry and can be opened once per process, so a test that runs a booth and a clinician
// in one process cannot give both of them media. These sources are plain values: open as
// many as you like. They also need no blank driver import in library code.
package synth
