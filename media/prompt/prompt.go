package prompt

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
)

// Message is one of the booth's spoken announcements.
type Message string

// The booth's announcements, one for each state change a patient who cannot read the
// screen needs to hear about.
const (
	AppointmentReady Message = "appointment_ready"
	ClinicianSoon    Message = "clinician_soon"
	Connected        Message = "connected"
	CallEnded        Message = "call_ended"
	HelpComing       Message = "help_coming"
	// StaffComing follows HelpComing once a member of staff has said they are coming.
	StaffComing  Message = "staff_coming"
	Reconnecting Message = "reconnecting"
)

// Messages lists every announcement, in the order they are rendered at start-up.
func Messages() []Message {
	return []Message{AppointmentReady, ClinicianSoon, Connected, CallEnded, HelpComing, StaffComing, Reconnecting}
}

// Text is what is said for m, or "" for an unknown message.
func (m Message) Text() string {
	switch m {
	case AppointmentReady:
		return "Your appointment is ready. Press the green button to join."
	case ClinicianSoon:
		return "The clinician will be with you soon."
	case Connected:
		return "You are now connected."
	case CallEnded:
		return "The call has ended."
	case HelpComing:
		return "Help is on its way."
	case StaffComing:
		return "Help is coming. A member of staff is on the way."
	case Reconnecting:
		return "Reconnecting, please wait."
	}
	return ""
}

// Player plays a prompt: mono PCM at 48 kHz, mixed over whatever else plays.
// media/playout's Playout is one.
type Player interface {
	Play(pcm []int16)
}

// SampleRate is the rate prompts are handed to the Player at.
const SampleRate = 48000

// peak is the level prompts are normalised to: -3 dBFS, so every prompt is as loud as the
// next whatever the synthesiser made of it.
const peak = 0.7 * math.MaxInt16

// queueLen is how many announcements may wait; more are dropped (and logged), as a booth
// that changes state that fast would only be talking over itself.
const queueLen = 8

// Config configures an Announcer.
type Config struct {
	// Enabled turns prompts on. Off, Say does nothing.
	Enabled bool
	// Synth renders the speech. Nil means espeak-ng with DefaultVoice and DefaultSpeed,
	// if it is installed; if it is not, prompts are off and Run says so in the log.
	Synth  Synth
	Logger *slog.Logger
}

// Announcer speaks Messages through a Player. Every message is rendered once, when Run
// starts, so saying one later costs nothing. Say is safe for concurrent use.
type Announcer struct {
	cfg    Config
	player Player
	log    *slog.Logger
	synth  Synth
	reqs   chan request

	mu    sync.Mutex // guards cache
	cache map[Message][]int16
}

// New returns an Announcer playing through player. A missing synthesiser is not an error:
// the booth works without a voice.
func New(cfg Config, player Player) (*Announcer, error) {
	if player == nil {
		return nil, errors.New("prompt: player is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Announcer{
		cfg:    cfg,
		player: player,
		log:    cfg.Logger.With("component", "prompt"),
		synth:  cfg.Synth,
		reqs:   make(chan request, queueLen),
		cache:  make(map[Message][]int16),
	}
	if a.synth == nil && cfg.Enabled {
		if es, err := NewESpeak("", 0); err == nil {
			a.synth = es
		} else {
			a.log.Warn("spoken prompts are off", "reason", err)
		}
	}
	return a, nil
}

// Enabled reports whether prompts will be spoken: turned on, with a synthesiser.
func (a *Announcer) Enabled() bool { return a.cfg.Enabled && a.synth != nil }

// request is one thing to say: a Message, or free text when msg is "".
type request struct {
	msg  Message
	text string
}

// Say queues m to be spoken after any already queued. It never blocks.
func (a *Announcer) Say(m Message) { a.queue(request{msg: m}) }

// SayText queues text, which changes too often to be one of the Messages (an activation
// code), to be spoken after any already queued. It is rendered when its turn comes and
// not kept. It never blocks.
func (a *Announcer) SayText(text string) {
	if text != "" {
		a.queue(request{text: text})
	}
}

func (a *Announcer) queue(r request) {
	if !a.Enabled() {
		return
	}
	select {
	case a.reqs <- r:
	default:
		a.log.Warn("prompt queue full; dropping", "message", string(r.msg))
	}
}

// Run renders every message, then speaks what Say queues, until ctx is done; it returns
// nil then. Rendering failures are logged, not fatal: the booth goes on without that
// prompt.
func (a *Announcer) Run(ctx context.Context) error {
	if !a.Enabled() {
		<-ctx.Done()
		return nil
	}
	for _, m := range Messages() {
		if ctx.Err() != nil {
			return nil
		}
		a.render(ctx, m)
	}
	a.log.Info("spoken prompts ready", "messages", len(a.cache))
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-a.reqs:
			var pcm []int16
			if r.msg != "" {
				pcm = a.render(ctx, r.msg)
			} else {
				pcm = a.renderText(ctx, r.text)
			}
			if pcm != nil {
				a.player.Play(pcm)
			}
		}
	}
}

// render returns m's speech at SampleRate, from the cache or rendered now; nil when it
// cannot be had.
func (a *Announcer) render(ctx context.Context, m Message) []int16 {
	a.mu.Lock()
	pcm, ok := a.cache[m]
	a.mu.Unlock()
	if ok {
		return pcm
	}
	text := m.Text()
	if text == "" {
		a.log.Warn("unknown prompt", "message", string(m))
		return nil
	}
	raw, rate, err := a.synth.Render(ctx, text)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("prompt not rendered", "message", string(m), "err", err)
		}
		return nil
	}
	pcm = normalise(Resample(raw, rate, SampleRate))
	a.mu.Lock()
	a.cache[m] = pcm
	a.mu.Unlock()
	return pcm
}

// renderText renders free text at SampleRate, or returns nil when it cannot.
func (a *Announcer) renderText(ctx context.Context, text string) []int16 {
	raw, rate, err := a.synth.Render(ctx, text)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("prompt not rendered", "text_bytes", len(text), "err", err)
		}
		return nil
	}
	return normalise(Resample(raw, rate, SampleRate))
}

// ActivationText is what an unenrolled booth says: the code IT approves, one character
// at a time (a synthesiser reads "K7QM" as a word otherwise), dash left out.
func ActivationText(code string) string {
	var spelt []string
	for _, r := range code {
		if r != '-' && r != ' ' {
			spelt = append(spelt, string(r))
		}
	}
	if len(spelt) == 0 {
		return ""
	}
	return "This booth is not set up yet. Please ask your I T team to approve the code: " +
		strings.Join(spelt, ", ") + ". Again: " + strings.Join(spelt, ", ") + "."
}

// normalise scales pcm (in place) so its peak is at peak.
func normalise(pcm []int16) []int16 {
	top := 0
	for _, s := range pcm {
		top = max(top, int(s), -int(s))
	}
	if top == 0 {
		return pcm
	}
	g := peak / float64(top)
	for i, s := range pcm {
		pcm[i] = int16(math.Round(float64(s) * g))
	}
	return pcm
}
