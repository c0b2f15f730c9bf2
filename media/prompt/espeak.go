package prompt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// ErrNoSynth means there is no speech synthesiser: espeak-ng is not installed.
var ErrNoSynth = errors.New("no speech synthesiser")

// Synth renders text as speech: mono PCM at rate Hz.
type Synth interface {
	Render(ctx context.Context, text string) (pcm []int16, rate int, err error)
}

// ESpeak renders with the espeak-ng program.
type ESpeak struct {
	path  string
	voice string
	speed int
}

var _ Synth = (*ESpeak)(nil)

// Defaults for espeak-ng: a British English voice, a little slower than its default 175
// words a minute, for listeners who are old or hard of hearing.
const (
	DefaultVoice = "en-gb"
	DefaultSpeed = 140
)

// NewESpeak finds espeak-ng on PATH. voice is an espeak-ng voice name ("" for
// DefaultVoice); speed is in words a minute (0 for DefaultSpeed). It returns ErrNoSynth
// when espeak-ng is not installed.
func NewESpeak(voice string, speed int) (*ESpeak, error) {
	path, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, fmt.Errorf("espeak-ng: %w (install the espeak-ng package for spoken prompts)", ErrNoSynth)
	}
	if voice == "" {
		voice = DefaultVoice
	}
	if speed == 0 {
		speed = DefaultSpeed
	}
	if speed < 80 || speed > 450 {
		return nil, fmt.Errorf("espeak-ng speed %d words a minute: want 80 to 450", speed)
	}
	if strings.ContainsAny(voice, " \t\n") || strings.HasPrefix(voice, "-") {
		return nil, fmt.Errorf("espeak-ng voice %q: want a voice name such as %q", voice, DefaultVoice)
	}
	return &ESpeak{path: path, voice: voice, speed: speed}, nil
}

// Render runs espeak-ng --stdout and parses the WAV it writes.
func (e *ESpeak) Render(ctx context.Context, text string) ([]int16, int, error) {
	var stdout, stderr bytes.Buffer
	// The text goes after "--" so that no text is taken for an option.
	cmd := exec.CommandContext(ctx, e.path, "--stdout", "-v", e.voice, "-s", strconv.Itoa(e.speed), "--", text)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("espeak-ng %q: %w: %s", text, err, strings.TrimSpace(stderr.String()))
	}
	pcm, rate, err := ParseWAV(&stdout)
	if err != nil {
		return nil, 0, fmt.Errorf("espeak-ng %q output: %w", text, err)
	}
	return pcm, rate, nil
}
