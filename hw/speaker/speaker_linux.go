package speaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// ErrStopped is returned by Run when the device stopped by itself (unplugged, or the ALSA
// device failed).
var ErrStopped = errors.New("speaker stopped")

// Speaker is an open ALSA output, through miniaudio.
type Speaker struct {
	log  *slog.Logger
	name string
	src  Source

	ctx *malgo.AllocatedContext
	dev *malgo.Device

	stopped  chan struct{} // closed when the device stops by itself
	stopOnce sync.Once

	mu      sync.Mutex // guards closing, closed
	closing bool
	closed  bool
}

// Open opens the output cfg names, ready to Run. With no sound card, no ALSA, or no device
// matching cfg.Device it returns an error matching ErrNoSpeaker.
func Open(cfg Config, src Source) (*Speaker, error) {
	if src == nil {
		return nil, errors.New("open speaker: source is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PeriodMillis <= 0 {
		cfg.PeriodMillis = 10
	}
	want := cfg.Device
	if want == "default" {
		want = ""
	}
	s := &Speaker{log: cfg.Logger.With("component", "speaker"), src: src, stopped: make(chan struct{})}

	mctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendAlsa}, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("open speaker: ALSA: %w (%w)", ErrNoSpeaker, err)
	}
	s.ctx = mctx
	infos, err := mctx.Devices(malgo.Playback)
	if err != nil {
		s.free()
		return nil, fmt.Errorf("open speaker: list ALSA playback devices: %w (%w)", ErrNoSpeaker, err)
	}
	var names []string
	for _, d := range infos {
		names = append(names, fmt.Sprintf("%s (%s)", alsaID(d.ID), d.Name()))
	}
	if len(infos) == 0 {
		s.free()
		return nil, fmt.Errorf("open speaker: no ALSA playback device (is a sound card attached and its driver loaded?): %w", ErrNoSpeaker)
	}

	dc := malgo.DefaultDeviceConfig(malgo.Playback)
	dc.Playback.Format = malgo.FormatS16
	dc.Playback.Channels = 1 // miniaudio copies mono to every channel the device has
	dc.SampleRate = SampleRate
	dc.PeriodSizeInMilliseconds = uint32(cfg.PeriodMillis)
	dc.Periods = 3
	dc.PerformanceProfile = malgo.LowLatency
	s.name = "default"
	if want != "" {
		found := false
		for i := range infos {
			id := alsaID(infos[i].ID)
			if id == want || strings.Contains(strings.ToLower(infos[i].Name()), strings.ToLower(want)) {
				// Pointer copies the ID into C memory, which miniaudio reads during
				// InitDevice; it is one small allocation per Open, never freed.
				dc.Playback.DeviceID = infos[i].ID.Pointer()
				s.name = id
				found = true
				break
			}
		}
		if !found {
			s.free()
			return nil, fmt.Errorf("open speaker: no ALSA playback device named like %q (have: %s): %w",
				cfg.Device, strings.Join(names, "; "), ErrNoSpeaker)
		}
	}
	dev, err := malgo.InitDevice(mctx.Context, dc, malgo.DeviceCallbacks{Data: s.data, Stop: s.onStop})
	if err != nil {
		s.free()
		return nil, fmt.Errorf("open speaker %q: %w (%w)", s.name, ErrNoSpeaker, err)
	}
	s.dev = dev
	s.log.Info("speaker opened", "device", s.name, "rate", dev.SampleRate(),
		"period_ms", cfg.PeriodMillis, "devices", strings.Join(names, "; "))
	return s, nil
}

// alsaID is the ALSA device string ("hw:CARD=Headphones,DEV=0", "null") miniaudio keeps
// in its device ID for the ALSA backend, a C string.
func alsaID(id malgo.DeviceID) string {
	b := id[:]
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// data is miniaudio's callback, on its audio thread: fill the device's buffer from the
// source. S16 mono was asked for, so the buffer is frames int16s (miniaudio converts to
// what the hardware takes).
func (s *Speaker) data(out, _ []byte, frames uint32) {
	if len(out) < int(frames)*2 || frames == 0 {
		return
	}
	pcm := unsafe.Slice((*int16)(unsafe.Pointer(&out[0])), frames)
	s.src.Read(pcm)
}

func (s *Speaker) onStop() {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if !closing {
		s.stopOnce.Do(func() { close(s.stopped) })
	}
}

// Name is the device's name, or "default".
func (s *Speaker) Name() string { return s.name }

// Run starts the sound and plays until ctx is done (nil) or the device stops by itself
// (ErrStopped). Run once.
func (s *Speaker) Run(ctx context.Context) error {
	if err := s.dev.Start(); err != nil {
		return fmt.Errorf("start speaker %q: %w", s.name, err)
	}
	select {
	case <-ctx.Done():
		return nil
	case <-s.stopped:
		s.log.Error("speaker stopped by itself", "device", s.name)
		return fmt.Errorf("speaker %q: %w", s.name, ErrStopped)
	}
}

// Close stops the device and frees it. It is idempotent.
func (s *Speaker) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed, s.closing = true, true
	s.mu.Unlock()
	if s.dev != nil {
		if s.dev.IsStarted() {
			s.dev.Stop()
		}
		s.dev.Uninit() // waits for the audio thread
		s.dev = nil
	}
	s.free()
	return nil
}

func (s *Speaker) free() {
	if s.ctx != nil {
		s.ctx.Uninit()
		s.ctx.Free()
		s.ctx = nil
	}
}
