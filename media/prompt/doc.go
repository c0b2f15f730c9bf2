// Package prompt speaks the booth's state changes ("Your appointment is ready. Press the
// green button to join.", "You are now connected.", ...) for patients who cannot read the
// screen.
//
// Speech comes from espeak-ng (https://github.com/espeak-ng/espeak-ng), run as
// `espeak-ng --stdout` with a British English voice at 140 words a minute; its WAV output
// (22.05 kHz, 16-bit mono, with the sizes a streaming writer leaves unset) is parsed by
// [ParseWAV], brought to 48 kHz by a windowed-sinc [Resample]r, normalised to -3 dBFS and
// handed to a [Player] (media/playout mixes it over the call, lowering the call under it).
// Every message is rendered once when [Announcer.Run] starts, so a prompt plays the moment
// it is asked for. Without espeak-ng the booth works without a voice and logs that once.
//
// References: the RIFF WAVE format (Microsoft Multimedia Programming Interface and Data
// Specifications 1.0, and WAVE_FORMAT_EXTENSIBLE), espeak-ng(1).
package prompt
