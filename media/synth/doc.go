// Package synth provides synthetic media sources: a moving colour-bar pattern and a sine
// tone, paced in real time and wrapped as mediadevices tracks with Carebooth's encoders.
//
// mediadevices' own test drivers (videotest, audiotest) live in its process-wide driver
// registry and can be opened once per process, so a test that runs a booth and a clinician
// in one process cannot give both of them media. These sources are plain values: open as
// many as you like. They also need no blank driver import in library code.
//
// A stamped source (Config.StampEpoch) draws each frame's capture time into the picture as
// a grid of large black and white cells with a checksum (DrawStamp), which survives VP8 at a
// call's bitrate, colour conversion and scaling; ReadStamp reads it back from the decoded
// frame or from what the screen drew, so a benchmark can measure capture-to-screen latency
// through the real call and display, and a misread is rejected rather than counted.
package synth
