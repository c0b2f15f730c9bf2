package playout

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/rtp"

	"github.com/carebooth/carebooth/media/opus"
)

const sampleRate = opus.SampleRate

// SampleRate is the rate of everything Read produces and Play accepts: mono, 48 kHz.
const SampleRate = sampleRate

// Defaults and limits.
const (
	DefaultMinDelay = 40 * time.Millisecond
	DefaultMaxDelay = 200 * time.Millisecond
	// DefaultVolume is the volume before anyone presses a button: loud, for listeners who
	// are hard of hearing, with a little room left above it.
	DefaultVolume = 0.8
	// VolumeStep is one press of a volume button: 4 dB.
	VolumeStep = 0.1
	// volumeRangeDB is the gain at volume 0+ (just above silent), relative to volume 1.
	volumeRangeDB = 40
	// duckGain is how far the call's sound is lowered under a spoken prompt: -12 dB.
	duckGain = 0.25
	// maxPrompts is how many prompts may wait; more push the oldest waiting one out.
	maxPrompts = 4
)

// Ramp lengths, in samples.
const (
	volumeRamp = sampleRate / 100 // 10 ms
	duckRamp   = sampleRate / 50  // 20 ms
	fadeInRamp = sampleRate / 200 // 5 ms, after silence or a restart
	crossfade  = sampleRate / 200 // 5 ms, where a frame is dropped or the play position jumps
	silence    = sampleRate / 100 // 10 ms of silence at a time while buffering
)

// Concealment and time stretching.
const (
	// concealFull is how long concealment in a row plays at full level, in samples:
	// libopus's PLC is good for about 40 ms. The frame after that fades to silence.
	concealFull = sampleRate * 40 / 1000
	// The smoothed delay may fall insertBelow under the target before a concealment frame
	// is inserted, and rise dropAbove over it before a frame is dropped; each moves it by
	// a frame (20 ms), so the two thresholds span more than a frame and cannot chase each
	// other. Above dropHard a frame is dropped even if it is loud.
	insertBelow = sampleRate * 10 / 1000
	dropAbove   = sampleRate * 25 / 1000
	dropHard    = sampleRate * 60 / 1000
	// dropEvery and insertEvery space out frame drops and insertions, in frames.
	dropEvery   = 3
	insertEvery = 10
	// quietRMS is the level under which a frame may be dropped without anyone noticing:
	// -40 dBFS.
	quietRMS = 0.01 * math.MaxInt16
	// flushOver is how far above the largest target the level may get (a burst after the
	// network stalled) before play jumps forward instead of draining frame by frame.
	flushOver = 200 * sampleRate / 1000
	// warnEvery rate-limits the underrun log line.
	warnEvery = 10 * time.Second
)

// ErrBadConfig is returned by New for bounds that make no sense.
var ErrBadConfig = errors.New("playout: bad config")

// Config configures a Playout. The zero value is usable.
type Config struct {
	// MinDelay and MaxDelay bound the adaptive target delay of the jitter buffer. Zero
	// means DefaultMinDelay and DefaultMaxDelay.
	MinDelay, MaxDelay time.Duration
	// Volume is the starting volume, 0 to 1; zero means DefaultVolume (a booth never
	// starts silent: use Mute for that).
	Volume float64
	// Clock times packet arrivals for the jitter estimate; nil means the real clock.
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// Stats are a playout's counters since New.
type Stats struct {
	Packets     uint64 // pushed
	Late        uint64 // arrived after their slot was played or concealed, dropped
	Duplicates  uint64 // dropped
	Restarts    uint64 // new streams (SSRC) or sequence jumps
	Decoded     uint64 // frames decoded from their own packet
	FEC         uint64 // lost frames rebuilt from the next packet's in-band FEC data
	Concealed   uint64 // lost frames filled by packet-loss concealment
	Underruns   uint64 // times the buffer ran dry and play faded out to rebuffer
	Dropped     uint64 // times play was shortened by about a frame to shrink the delay (accelerate)
	Inserted    uint64 // times a frame was played longer by some pitch periods to grow it (expand)
	Flushed     uint64 // packets skipped after a burst overfilled the buffer
	TargetDelay time.Duration
	Delay       time.Duration // the buffer's delay now (smoothed), which is steered to TargetDelay
	Level       time.Duration // buffered audio ahead of the play position, now
	Playing     bool
}

// Playout is the speaker's side of a call: a jitter buffer of Opus packets, the decoder,
// loss concealment, volume, mute, and spoken prompts mixed over the call. Push is called
// as packets arrive; Read by the speaker as it needs sound. Its methods are safe for
// concurrent use.
type Playout struct {
	log   *slog.Logger
	clock clockwork.Clock
	epoch time.Time

	mu  sync.Mutex // guards everything below
	jb  *jitterBuffer
	dec *opus.Decoder // nil after Close

	newStream bool // a new stream began: fade the old one out and reset the decoder
	// fifo holds produced call audio not yet read, from rd on.
	fifo []float32
	rd   int
	// scratch buffers for decoding, stretching and mixing.
	a, b, x, st, mix []float32
	// fade carries concealment fades and fade-ins; it applies to produced call audio.
	fade        ramp
	concealed   int     // samples concealed in a row
	smoothed    float64 // the jitter buffer's delay, smoothed over a few frames
	sinceResize int     // frames since the last drop or insertion

	volume   float64
	muted    bool
	gain     ramp // volume
	mute     ramp // 0 when muted
	duck     ramp // duckGain under a prompt
	prompts  [][]float32
	promptAt int // position in prompts[0]

	stats    Stats
	lastWarn time.Time
}

// New returns a Playout. Close frees its decoder.
func New(cfg Config) (*Playout, error) {
	if cfg.MinDelay == 0 {
		cfg.MinDelay = DefaultMinDelay
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MinDelay < 10*time.Millisecond || cfg.MaxDelay < cfg.MinDelay || cfg.MaxDelay > 2*time.Second {
		return nil, fmt.Errorf("%w: delay bounds %v..%v, want 10ms <= min <= max <= 2s", ErrBadConfig, cfg.MinDelay, cfg.MaxDelay)
	}
	if cfg.Volume == 0 {
		cfg.Volume = DefaultVolume
	}
	if cfg.Volume < 0 || cfg.Volume > 1 || math.IsNaN(cfg.Volume) {
		return nil, fmt.Errorf("%w: volume %v, want 0 to 1", ErrBadConfig, cfg.Volume)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dec, err := opus.NewDecoder(1)
	if err != nil {
		return nil, fmt.Errorf("playout: %w", err)
	}
	p := &Playout{
		log:    cfg.Logger.With("component", "playout"),
		clock:  cfg.Clock,
		epoch:  cfg.Clock.Now(),
		jb:     newJitterBuffer(samples(cfg.MinDelay), samples(cfg.MaxDelay)),
		dec:    dec,
		volume: cfg.Volume,
	}
	p.gain.jump(volumeGain(cfg.Volume))
	p.mute.jump(1)
	p.duck.jump(1)
	return p, nil
}

func samples(d time.Duration) int { return int(d * sampleRate / time.Second) }

func duration(n int) time.Duration { return time.Duration(n) * time.Second / sampleRate }

// volumeGain maps a volume in [0, 1] to a linear gain: 0 is silent, and above it every
// step of 0.1 is 4 dB, up to unity gain at 1.
func volumeGain(v float64) float32 {
	if v <= 0 {
		return 0
	}
	return float32(math.Pow(10, -volumeRangeDB*(1-v)/20))
}

// Push hands the playout one RTP packet of the remote Opus stream, as media/call's
// OnAudioPacket does. The packet is copied; it may be reused after Push returns.
func (p *Playout) Push(pkt *rtp.Packet) {
	if pkt == nil || len(pkt.Payload) == 0 {
		return
	}
	arrival := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dec == nil {
		return
	}
	p.stats.Packets++
	switch p.jb.push(pkt.SSRC, pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, arrival) {
	case pushDuplicate:
		p.stats.Duplicates++
	case pushLate:
		p.stats.Late++
	case pushRestarted:
		p.stats.Restarts++
		p.newStream = true
		p.log.Info("new audio stream", "ssrc", pkt.SSRC)
	}
}

// now is the clock's time in samples since New.
func (p *Playout) now() int64 { return int64(p.clock.Since(p.epoch) * sampleRate / time.Second) }

// Read fills out with the next len(out) samples for the speaker: call audio, concealed
// where packets were lost, mixed with any prompt, at the set volume. The speaker calls it
// at its own pace, from its own thread; that pace is the playout's clock. It never blocks
// on the network: with nothing to play it plays silence.
func (p *Playout) Read(out []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(out) > 0 {
		if p.rd == len(p.fifo) {
			p.fifo, p.rd = p.fifo[:0], 0
			p.produce()
			if len(p.fifo) == 0 {
				// A decoder that returned no samples must not spin the sound card's thread.
				p.appendSilence()
			}
		}
		n := min(len(out), len(p.fifo)-p.rd)
		mix := append(p.mix[:0], p.fifo[p.rd:p.rd+n]...)
		p.mix = mix
		p.rd += n
		p.mute.apply(mix)
		p.mixPrompt(mix)
		p.gain.apply(mix)
		for i, v := range mix {
			out[i] = toInt16(v)
		}
		out = out[n:]
	}
}

// toInt16 converts to 16-bit, rounding half away from zero and clipping.
func toInt16(v float32) int16 {
	x := v * 32768
	switch {
	case x >= math.MaxInt16:
		return math.MaxInt16
	case x <= math.MinInt16:
		return math.MinInt16
	case x < 0:
		return int16(x - 0.5)
	}
	return int16(x + 0.5)
}

// mixPrompt ducks the call under the current prompt and adds the prompt. Must hold mu.
func (p *Playout) mixPrompt(mix []float32) {
	if len(p.prompts) == 0 {
		if p.duck.target != 1 {
			p.duck.set(1, duckRamp)
		}
		p.duck.apply(mix)
		return
	}
	if p.duck.target != duckGain {
		p.duck.set(duckGain, duckRamp)
	}
	p.duck.apply(mix)
	for i := 0; i < len(mix) && len(p.prompts) > 0; i++ {
		mix[i] += p.prompts[0][p.promptAt]
		p.promptAt++
		if p.promptAt == len(p.prompts[0]) {
			p.prompts, p.promptAt = p.prompts[1:], 0
		}
	}
}

// Play queues a prompt: mono PCM at 48 kHz, mixed over the call (which is lowered under
// it) after the prompts already queued. It plays at the set volume even when the call is
// muted, so a patient who muted the call still hears "The call has ended". The clip is
// copied, and its first and last milliseconds faded so it starts and stops without a click.
func (p *Playout) Play(clip []int16) {
	if len(clip) == 0 {
		return
	}
	f := make([]float32, len(clip))
	for i, s := range clip {
		f[i] = float32(s) / 32768
	}
	edge := min(len(f)/2, sampleRate/1000*2)
	for i := 0; i < edge; i++ {
		g := float32(i) / float32(edge)
		f[i] *= g
		f[len(f)-1-i] *= g
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.prompts) == maxPrompts {
		// Drop the oldest waiting one, not the one playing, which would stop mid-word.
		p.prompts = append(p.prompts[:1], p.prompts[2:]...)
	}
	p.prompts = append(p.prompts, f)
}

// Speaking reports whether a prompt is playing or waiting.
func (p *Playout) Speaking() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.prompts) > 0
}

// SetVolume sets the volume, 0 (silent) to 1 (unity gain), clamped, and returns it. The
// change is ramped over 10 ms.
func (p *Playout) SetVolume(v float64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.setVolume(v)
}

// must hold mu
func (p *Playout) setVolume(v float64) float64 {
	if math.IsNaN(v) {
		return p.volume
	}
	v = min(max(v, 0), 1)
	v = math.Round(v*1000) / 1000 // steps of 0.1 add up to exactly 1
	p.volume = v
	p.gain.set(volumeGain(v), volumeRamp)
	return v
}

// AdjustVolume changes the volume by delta (VolumeStep per button press) and returns the
// new volume.
func (p *Playout) AdjustVolume(delta float64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.setVolume(p.volume + delta)
}

// Volume returns the volume, 0 to 1.
func (p *Playout) Volume() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.volume
}

// Mute silences (or restores) the call's sound, ramped over 10 ms. Prompts still play.
func (p *Playout) Mute(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.muted = on
	g := float32(1)
	if on {
		g = 0
	}
	p.mute.set(g, volumeRamp)
}

// Muted reports whether the call's sound is muted.
func (p *Playout) Muted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.muted
}

// Stats returns the counters and the buffer's state now.
func (p *Playout) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.TargetDelay = duration(p.jb.target)
	if p.jb.playing {
		s.Delay = duration(int(p.smoothed))
	}
	s.Level = duration(p.jb.level() + len(p.fifo) - p.rd)
	s.Playing = p.jb.playing
	return s
}

// Close frees the decoder; Read plays silence afterwards and Push drops packets. It is
// idempotent.
func (p *Playout) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dec != nil {
		p.dec.Close()
		p.dec = nil
	}
	p.jb.reset()
	return nil
}

// produce appends the next piece of call audio to fifo: one decoded, rebuilt or concealed
// frame, or a little silence while buffering. Must hold mu; fifo is empty.
func (p *Playout) produce() {
	if p.dec == nil {
		p.appendSilence()
		return
	}
	if p.newStream {
		p.newStream = false
		if !p.fade.settled() || p.fade.cur > 0 {
			// Let the old stream die away through its own concealment, then start afresh.
			p.concealFrame(true)
		}
		if dec, err := opus.NewDecoder(1); err == nil {
			p.dec.Close()
			p.dec = dec
		} else {
			p.log.Error("new opus decoder; keeping the old one", "err", err)
		}
		p.concealed = 0
		if len(p.fifo) > 0 {
			return
		}
	}
	jb := p.jb
	if !jb.playing {
		if len(jb.pkts) == 0 || jb.delay(p.now()) < jb.target {
			p.appendSilence()
			return
		}
		jb.start()
		p.smoothed = float64(jb.delay(p.now()))
		p.log.Debug("playout started", "target", duration(jb.target))
	}
	level := jb.level()
	p.smoothed += (float64(jb.delay(p.now())) - p.smoothed) / 8
	p.sinceResize++
	target := float64(jb.target)

	if level > jb.maxDelay+flushOver {
		p.flush()
		return
	}
	kind, payload := jb.peek()
	switch kind {
	case slotPacket:
		a, err := p.decode(payload)
		if err != nil {
			p.concealFrame(false)
			jb.advance(len(p.fifo))
			return
		}
		jb.advance(len(a))
		switch {
		case p.smoothed < target-insertBelow && p.sinceResize >= insertEvery:
			// Too little buffered for the jitter seen: play this frame longer by a few
			// pitch periods.
			out := lengthen(p.st, a)
			p.st = out
			if grown := len(out) - len(a); grown > 0 {
				p.sinceResize = 0
				p.stats.Inserted++
				p.smoothed += float64(grown)
			}
			p.emit(out, true)
			return
		case p.smoothed > target+dropAbove && p.sinceResize >= dropEvery:
			next, ok := jb.peekNext()
			if !ok {
				break
			}
			b, err := p.decodeB(next)
			if err != nil {
				break
			}
			jb.advance(len(b))
			// Too much buffered: play the two frames in about the time of one, if the
			// cut will not be heard (quiet, or the waveform matches itself), or if the
			// delay is far over.
			p.x = append(append(p.x[:0], a...), b...)
			out, corr := shorten(p.st, p.x, len(b))
			p.st = out
			if corr >= 0.9 || rms(a) < quietRMS || p.smoothed > target+dropHard {
				p.sinceResize = 0
				p.stats.Dropped++
				p.smoothed -= float64(len(p.x) - len(out))
				p.emit(out, true)
			} else {
				p.emit(p.x, true)
			}
			return
		}
		p.emit(a, true)
	case slotFEC:
		if !hasFEC(payload) {
			p.concealFrame(false)
			jb.advance(len(p.fifo))
			return
		}
		pcm, err := p.dec.DecodeFEC(payload)
		if err != nil {
			p.concealFrame(false)
			jb.advance(len(p.fifo))
			return
		}
		p.stats.FEC++
		p.a = toFloat(p.a, pcm)
		jb.advance(len(p.a))
		p.emit(p.a, true)
	case slotGap:
		p.concealFrame(false)
		jb.advance(len(p.fifo))
	case slotEmpty:
		// Nothing buffered: the next packet is late, or the sender has stopped. Conceal
		// without using up its slot, so a late packet still plays when it comes (the delay
		// grows by what was concealed, as the jitter asks); give up once that has faded.
		p.concealFrame(false)
		if p.fade.settled() && p.fade.cur == 0 {
			// Faded out: stop and wait for the target delay's worth of packets again.
			jb.playing = false
			p.stats.Underruns++
			if now := p.clock.Now(); now.Sub(p.lastWarn) > warnEvery {
				p.lastWarn = now
				p.log.Warn("speaker audio ran dry; rebuffering", "underruns", p.stats.Underruns,
					"target", duration(jb.target), "late", p.stats.Late)
			}
		}
	}
}

// decode decodes payload into p.a. Must hold mu.
func (p *Playout) decode(payload []byte) ([]float32, error) {
	pcm, err := p.dec.Decode(payload)
	if err != nil {
		return nil, err
	}
	if len(pcm) == 0 {
		return nil, errors.New("playout: opus packet decoded to no samples")
	}
	p.stats.Decoded++
	p.jb.frameLen = len(pcm)
	p.a = toFloat(p.a, pcm)
	return p.a, nil
}

// decodeB decodes payload into p.b. Must hold mu.
func (p *Playout) decodeB(payload []byte) ([]float32, error) {
	pcm, err := p.dec.Decode(payload)
	if err != nil {
		return nil, err
	}
	p.stats.Decoded++
	p.b = toFloat(p.b, pcm)
	return p.b, nil
}

// emit appends a frame of real (decoded or rebuilt) audio, fading in if play was silent.
// Must hold mu.
func (p *Playout) emit(f []float32, real bool) {
	if real {
		p.concealed = 0
		if p.fade.target != 1 {
			p.fade.set(1, fadeInRamp)
		}
	}
	start := len(p.fifo)
	p.fifo = append(p.fifo, f...)
	p.fade.apply(p.fifo[start:])
}

// concealFrame appends one frame of packet-loss concealment: at full level for the first
// concealFull samples in a row, fading to silence over the frame after, silent after that.
// With fadeOut it fades to silence at once. Must hold mu.
func (p *Playout) concealFrame(fadeOut bool) {
	n := p.jb.frameLen
	prior := p.concealed
	p.concealed += n
	p.stats.Concealed++
	if prior >= concealFull && p.fade.settled() && p.fade.cur == 0 {
		p.fifo = append(p.fifo, make([]float32, n)...)
		return
	}
	if pcm, err := p.dec.Conceal(); err == nil {
		p.a = toFloat(p.a, pcm)
	} else {
		p.a = append(p.a[:0], make([]float32, n)...)
		p.fade.set(0, 1)
	}
	if fadeOut || prior >= concealFull {
		p.fade.set(0, len(p.a))
	}
	p.emit(p.a, false)
}

// flush jumps the play position forward to the target delay after a burst, through a
// crossfade from the concealed continuation into the packet it lands on. Must hold mu.
func (p *Playout) flush() {
	jb := p.jb
	for len(jb.pkts) > 1 && jb.level() > jb.target {
		jb.dropOldest()
		p.stats.Flushed++
	}
	jb.next, jb.nextTs = jb.pkts[0].seq, jb.pkts[0].ts
	pcm, err := p.dec.Conceal()
	if err != nil {
		p.concealFrame(true)
		return
	}
	cont := toFloat(p.b, pcm)
	p.b = cont
	a, err := p.decode(jb.pkts[0].payload)
	if err != nil {
		p.concealFrame(true)
		return
	}
	jb.advance(len(a))
	crossfadeInto(cont, a)
	p.smoothed = float64(jb.delay(p.now()))
	p.emit(a, true)
}

// crossfadeInto fades from 'from' into 'to' over their first few milliseconds, writing
// into 'to'. 'from' is what would have followed the last sample played.
func crossfadeInto(from, to []float32) {
	n := min(crossfade, len(from), len(to))
	for i := 0; i < n; i++ {
		w := float32(i+1) / float32(n+1)
		to[i] = from[i]*(1-w) + to[i]*w
	}
}

// appendSilence appends 10 ms of silence. Must hold mu.
func (p *Playout) appendSilence() {
	p.fade.jump(0)
	p.fifo = append(p.fifo, make([]float32, silence)...)
}

func toFloat(dst []float32, pcm []int16) []float32 {
	dst = dst[:0]
	for _, s := range pcm {
		dst = append(dst, float32(s)/32768)
	}
	return dst
}

// rms of a frame, in int16 units.
func rms(f []float32) float64 {
	var e float64
	for _, v := range f {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e/float64(max(len(f), 1))) * 32768
}
