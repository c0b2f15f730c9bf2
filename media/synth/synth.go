package synth

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/carebooth/carebooth/media/capture"
)

// ErrClosed is returned by a source's Read after Close.
var ErrClosed = errors.New("synthetic source closed")

// Config describes the synthetic media. Zero fields take capture's defaults (640x480,
// 30 fps) and a 440 Hz tone.
type Config struct {
	Capture capture.Config // size, frame rate and bitrates; Video and Audio are ignored
	ToneHz  float64
	// Clock paces the sources and reads the capture time of stamped frames; nil means the
	// real clock.
	Clock clockwork.Clock
	// StampEpoch, if not zero, makes every video frame carry its capture time (the moment
	// the source hands it to the encoder) as a stamp (DrawStamp): whole milliseconds since
	// StampEpoch on Clock. A receiver reads it with ReadStamp and StampTime, for
	// capture-to-screen latency. The picture must be at least 80x45.
	StampEpoch time.Time
	// Grain adds random noise of up to +/-Grain (0..64) to every luma sample, new each
	// frame, as a camera's sensor does: the clean pattern costs VP8 about 500 kbit/s at
	// 1280x720 whatever the target, while even a grain of 1 or 2 fills a 2 Mbit/s target, as
	// real video does, so the decoder works as hard as in a real call. Zero draws the clean
	// pattern. The stamp is drawn over the grain, clean.
	Grain int
}

// Stream is a pair of synthetic tracks. Close stops both.
type Stream struct {
	tracks []mediadevices.Track
}

// Open builds a video and an audio track fed by synthetic sources.
func Open(cfg Config) (*Stream, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	sel, err := capture.NewCodecSelector(cfg.Capture)
	if err != nil {
		return nil, err
	}
	v := cfg.video()
	a := newAudioSource(cfg.Clock, cfg.ToneHz)
	return &Stream{tracks: []mediadevices.Track{
		mediadevices.NewVideoTrack(v, sel),
		mediadevices.NewAudioTrack(a, sel),
	}}, nil
}

// Video returns the video source alone, as Open's video track reads it, for code that
// encodes frames itself. Each Read waits for the next frame time on cfg.Clock: with a fake
// clock, the first returns at once and each later one once the clock has been advanced by a
// frame period.
func Video(cfg Config) (mediadevices.VideoSource, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	return cfg.video(), nil
}

// resolve fills in the defaults and checks cfg.
func (cfg Config) resolve() (Config, error) {
	cc := &cfg.Capture
	if cc.Width == 0 {
		cc.Width = capture.DefaultWidth
	}
	if cc.Height == 0 {
		cc.Height = capture.DefaultHeight
	}
	if cc.FPS == 0 {
		cc.FPS = capture.DefaultFPS
	}
	if cfg.ToneHz == 0 {
		cfg.ToneHz = 440
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cc.Width%2 != 0 || cc.Height%2 != 0 || cc.Width <= 0 || cc.Height <= 0 {
		return cfg, fmt.Errorf("synthetic video size %dx%d: width and height must be positive and even", cc.Width, cc.Height)
	}
	if !cfg.StampEpoch.IsZero() && (cc.Width < stampMinWidth || cc.Height < stampMinHeight) {
		return cfg, fmt.Errorf("synthetic video size %dx%d: a stamped picture must be at least %dx%d", cc.Width, cc.Height, stampMinWidth, stampMinHeight)
	}
	if cfg.Grain < 0 || cfg.Grain > 64 {
		return cfg, fmt.Errorf("synthetic video grain %d is outside 0..64", cfg.Grain)
	}
	if cfg.ToneHz <= 0 || cfg.ToneHz >= sampleRate/2 {
		return cfg, fmt.Errorf("tone %.0f Hz is outside 0..%d Hz", cfg.ToneHz, sampleRate/2)
	}
	return cfg, nil
}

// video builds the video source of a resolved cfg.
func (cfg Config) video() *videoSource {
	v := newVideoSource(cfg.Clock, cfg.Capture.Width, cfg.Capture.Height, cfg.Capture.FPS)
	if !cfg.StampEpoch.IsZero() {
		v.stamp, v.epoch = true, cfg.StampEpoch
	}
	v.grain = cfg.Grain
	return v
}

// Tracks returns the video and the audio track.
func (s *Stream) Tracks() []mediadevices.Track { return s.tracks }

// Close stops the tracks and their sources.
func (s *Stream) Close() error {
	var errs []error
	for _, t := range s.tracks {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}

// pacer releases one tick per period of its clock and stops on close.
type pacer struct {
	clock  clockwork.Clock
	period time.Duration
	next   time.Time
	done   chan struct{}
	once   sync.Once
}

func newPacer(clock clockwork.Clock, period time.Duration) *pacer {
	return &pacer{clock: clock, period: period, done: make(chan struct{})}
}

// wait blocks until the next tick; false after close.
func (p *pacer) wait() bool {
	now := p.clock.Now()
	if p.next.IsZero() || now.Sub(p.next) > 10*p.period {
		// First frame, or the reader stalled for long: restart rather than burst.
		p.next = now
	}
	d := p.next.Sub(now)
	p.next = p.next.Add(p.period)
	if d <= 0 {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	t := p.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return false
	case <-t.Chan():
		return true
	}
}

func (p *pacer) close() { p.once.Do(func() { close(p.done) }) }

// videoSource draws eight colour bars with a white square moving across them, so an
// encoder has motion to code and a viewer can see the picture is live; stamped, it draws
// each frame's capture time over them.
type videoSource struct {
	id    string
	img   *image.YCbCr
	frame int
	pace  *pacer
	clock clockwork.Clock
	stamp bool      // draw the capture time (set before the first Read)
	epoch time.Time // what the stamp counts from
	grain int       // luma noise amplitude (set before the first Read)
	rng   uint64    // xorshift state for the grain
}

var _ mediadevices.VideoSource = (*videoSource)(nil)

// bars are the YCbCr colours of SMPTE-style bars: white, yellow, cyan, green, magenta,
// red, blue, black.
var bars = [8][3]uint8{
	{235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34},
	{106, 202, 222}, {81, 90, 240}, {41, 240, 110}, {16, 128, 128},
}

func newVideoSource(clock clockwork.Clock, w, h, fps int) *videoSource {
	return &videoSource{
		id:    fmt.Sprintf("synth-video-%dx%d", w, h),
		img:   image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		pace:  newPacer(clock, time.Second/time.Duration(fps)),
		clock: clock,
	}
}

func (s *videoSource) ID() string   { return s.id }
func (s *videoSource) Close() error { s.pace.close(); return nil }

// Read draws the next frame into the one buffer; the encoder reads it before the next
// Read, as with mediadevices' own drivers.
func (s *videoSource) Read() (image.Image, func(), error) {
	if !s.pace.wait() {
		return nil, nil, ErrClosed
	}
	img := s.img
	w, h := img.Rect.Dx(), img.Rect.Dy()
	box := h / 4
	bx := (s.frame * 4) % (w - box)
	by := (h - box) / 2
	for y := 0; y < h; y++ {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		inBoxRow := y >= by && y < by+box
		for x := range row {
			if inBoxRow && x >= bx && x < bx+box {
				row[x] = 235
			} else {
				row[x] = bars[x*8/w][0]
			}
		}
	}
	for y := 0; y < h/2; y++ {
		cb := img.Cb[y*img.CStride : y*img.CStride+w/2]
		cr := img.Cr[y*img.CStride : y*img.CStride+w/2]
		inBoxRow := 2*y >= by && 2*y < by+box
		for x := range cb {
			if inBoxRow && 2*x >= bx && 2*x < bx+box {
				cb[x], cr[x] = 128, 128
			} else {
				c := bars[2*x*8/w]
				cb[x], cr[x] = c[1], c[2]
			}
		}
	}
	s.frame++
	if s.grain > 0 {
		s.addGrain()
	}
	if s.stamp {
		// Captured now, as the frame leaves for the encoder. Open checked the size.
		_ = DrawStamp(img, stampValue(s.epoch, s.clock.Now()))
	}
	return img, func() {}, nil
}

// addGrain adds noise of up to +/-s.grain to each luma sample, eight samples per step of a
// xorshift generator (a 1280x720 frame costs well under a millisecond).
func (s *videoSource) addGrain() {
	if s.rng == 0 {
		s.rng = 0x9e3779b97f4a7c15
	}
	span := uint64(2*s.grain + 1)
	img := s.img
	w := img.Rect.Dx()
	for y := range img.Rect.Dy() {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		for x := 0; x < len(row); x += 8 {
			s.rng ^= s.rng << 13
			s.rng ^= s.rng >> 7
			s.rng ^= s.rng << 17
			r := s.rng
			for i := x; i < min(x+8, len(row)); i++ {
				v := int(row[i]) + int(r&0xff%span) - s.grain
				row[i] = uint8(min(max(v, 16), 235))
				r >>= 8
			}
		}
	}
}

const (
	sampleRate  = 48000
	chunkPeriod = 20 * time.Millisecond
	chunkLen    = sampleRate / 50 // 20 ms
)

// audioSource is a mono sine tone at half scale, in 20 ms chunks.
type audioSource struct {
	hz    float64
	n     int64 // samples produced
	chunk *wave.Int16Interleaved
	pace  *pacer
}

var _ mediadevices.AudioSource = (*audioSource)(nil)

func newAudioSource(clock clockwork.Clock, hz float64) *audioSource {
	return &audioSource{
		hz:    hz,
		chunk: wave.NewInt16Interleaved(wave.ChunkInfo{Len: chunkLen, Channels: 1, SamplingRate: sampleRate}),
		pace:  newPacer(clock, chunkPeriod),
	}
}

func (s *audioSource) ID() string   { return fmt.Sprintf("synth-tone-%.0fhz", s.hz) }
func (s *audioSource) Close() error { s.pace.close(); return nil }

func (s *audioSource) Read() (wave.Audio, func(), error) {
	if !s.pace.wait() {
		return nil, nil, ErrClosed
	}
	for i := range s.chunk.Data {
		ph := 2 * math.Pi * s.hz * float64(s.n+int64(i)) / sampleRate
		s.chunk.Data[i] = int16(16383 * math.Sin(ph))
	}
	s.n += int64(len(s.chunk.Data))
	return s.chunk, func() {}, nil
}

// Interface checks against mediadevices' reader types.
var (
	_ video.Reader = (*videoSource)(nil)
	_ audio.Reader = (*audioSource)(nil)
)
