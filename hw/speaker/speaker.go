package speaker

import (
	"errors"
	"log/slog"
)

// SampleRate is the rate Source.Read is asked for: mono, 48 kHz, as WebRTC's Opus decodes.
const SampleRate = 48000

// ErrNoSpeaker means there is no sound output to open: no sound card, no ALSA, the named
// device is missing, or this binary was built without speaker support. The booth shows a
// fault ("no sound") and carries on; it must not crash.
var ErrNoSpeaker = errors.New("no speaker")

// Source makes the sound. The speaker calls Read from its own thread whenever the device
// needs more, at the device's pace, so the source's clock is the sound card's. Read must
// fill out completely and must not block: with nothing to play, it writes silence.
// media/playout's Playout is one.
type Source interface {
	Read(out []int16)
}

// Config chooses the output.
type Config struct {
	// Device is "" or "default" for the system's default output, an ALSA device string
	// as `aplay -L` lists them ("plughw:CARD=Headphones,DEV=0", "null"), or part of a
	// device's description ("Headphones", "HDMI", "USB Audio"); the log lists them at
	// start-up.
	Device string
	// PeriodMillis is how much sound the device asks for at a time; zero means 10 ms.
	// Shorter lowers latency and raises the chance of an underrun on a busy CPU.
	PeriodMillis int
	Logger       *slog.Logger
}
