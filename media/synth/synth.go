package synth

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"time"

	"github.com/carebooth/carebooth/media/capture"
	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/wave"
)

// ErrClosed is returned by a source's Read after Close.
var ErrClosed = errors.New("synthetic source closed")

// Config describes the synthetic media. Zero fields take capture's defaults (640x480,
// 30 fps) and a 440 Hz tone.
type Config struct {
	Capture capture.Config // size, frame rate and bitrates; Video and Audio are ignored
	ToneHz  float64
}

// Stream is a pair of synthetic tracks. Close stops both.
type Stream struct {
	tracks []mediadevices.Track
}

// Open builds a video and an audio track fed by synthetic sources.
func Open(cfg Config) (*Stream, error) {
	cc := cfg.Capture
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
	if cc.Width%2 != 0 || cc.Height%2 != 0 || cc.Width <= 0 || cc.Height <= 0 {
		return nil, fmt.Errorf("synthetic video size %dx%d: width and height must be positive and even", cc.Width, cc.Height)
	}
	if cfg.ToneHz <= 0 || cfg.ToneHz >= sampleRate/2 {
		return nil, fmt.Errorf("tone %.0f Hz is outside 0..%d Hz", cfg.ToneHz, sampleRate/2)
	}
	sel, err := capture.NewCodecSelector(cc)
	if err != nil {
		return nil, err
	}
	v := newVideoSource(cc.Width, cc.Height, cc.FPS)
	a := newAudioSource(cfg.ToneHz)
	return &Stream{tracks: []mediadevices.Track{
		mediadevices.NewVideoTrack(v, sel),
		mediadevices.NewAudioTrack(a, sel),
	}}, nil
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

// pacer releases one tick per period in real time and stops on close.
type pacer struct {
	period time.Duration
	next   time.Time
	done   chan struct{}
	once   sync.Once
}

func newPacer(period time.Duration) *pacer {
	return &pacer{period: period, done: make(chan struct{})}
}

// wait blocks until the next tick; false after close.
func (p *pacer) wait() bool {
	now := time.Now()
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
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return false
	case <-t.C:
		return true
	}
}

func (p *pacer) close() { p.once.Do(func() { close(p.done) }) }

// videoSource draws eight colour bars with a white square moving across them, so an
// encoder has motion to code and a viewer can see the picture is live.
type videoSource struct {
	id    string
	img   *image.YCbCr
	frame int
	pace  *pacer
}

var _ mediadevices.VideoSource = (*videoSource)(nil)

// bars are the YCbCr colours of SMPTE-style bars: white, yellow, cyan, green, magenta,
// red, blue, black.
var bars = [8][3]uint8{
	{235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34},
	{106, 202, 222}, {81, 90, 240}, {41, 240, 110}, {16, 128, 128},
}

func newVideoSource(w, h, fps int) *videoSource {
	return &videoSource{
		id:   fmt.Sprintf("synth-video-%dx%d", w, h),
		img:  image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		pace: newPacer(time.Second / time.Duration(fps)),
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
	return img, func() {}, nil
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

func newAudioSource(hz float64) *audioSource {
	return &audioSource{
		hz:    hz,
		chunk: wave.NewInt16Interleaved(wave.ChunkInfo{Len: chunkLen, Channels: 1, SamplingRate: sampleRate}),
		pace:  newPacer(chunkPeriod),
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
