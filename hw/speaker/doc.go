// Package speaker plays a booth's sound: the clinician's voice from media/playout and the
// spoken prompts mixed into it.
//
// The device pulls: [Open] starts an output whose callback asks its [Source] for each
// period of samples (mono, 48 kHz, 16 bit), so the sound card's clock paces the playout and
// the jitter buffer measures itself against it. On Linux the output is ALSA through
// miniaudio (github.com/gen2brain/malgo, which mediadevices already uses for the
// microphone); miniaudio loads libasound at run time, so a booth without a sound card, or
// without ALSA, gets [ErrNoSpeaker] from Open rather than a crash, and shows a fault. On
// other systems Open always returns ErrNoSpeaker ("built without speaker support").
//
// Tests use speakertest.Sink, which pulls blocks on demand and records them, so a test
// drives the playout's clock itself without wall time.
//
// References: the miniaudio manual (https://miniaud.io/docs/manual/), ALSA PCM
// (https://www.alsa-project.org/alsa-doc/alsa-lib/pcm.html).
package speaker
