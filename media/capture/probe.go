package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/mediadevices"
)

// probeGrace is how long a probe waits, after closing the device, for a read that its
// deadline cut short: a driver that never returns from a read is then left behind.
const probeGrace = time.Second

// ErrNotProbed: the device is off in the config, so there is nothing to probe.
var ErrNotProbed = errors.New("off in the config")

// ProbeCamera opens the camera cfg names, reads one frame and closes it, for a
// self-test. It returns the device's label and the frame's size. The camera must not be
// in use by a call: a V4L2 device opens once.
func ProbeCamera(ctx context.Context, cfg Config, logger *slog.Logger) (string, error) {
	if cfg.Video == SourceOff {
		return "", ErrNotProbed
	}
	cfg.Audio, cfg.OnSelfFrame = SourceOff, nil
	return probe(ctx, cfg, logger, func(t mediadevices.Track) (func() (string, error), bool) {
		vt, ok := t.(*mediadevices.VideoTrack)
		if !ok {
			return nil, false
		}
		r := vt.NewReader(false)
		return func() (string, error) {
			img, release, err := r.Read()
			if err != nil {
				return "", err
			}
			defer release()
			b := img.Bounds()
			if b.Empty() {
				return "", errors.New("an empty frame")
			}
			return fmt.Sprintf("%dx%d", b.Dx(), b.Dy()), nil
		}, true
	})
}

// ProbeMicrophone opens the microphone cfg names, reads one chunk of sound and closes
// it, for a self-test. It returns the device's label and the chunk's sample rate.
func ProbeMicrophone(ctx context.Context, cfg Config, logger *slog.Logger) (string, error) {
	if cfg.Audio == SourceOff {
		return "", ErrNotProbed
	}
	cfg.Video = SourceOff
	return probe(ctx, cfg, logger, func(t mediadevices.Track) (func() (string, error), bool) {
		at, ok := t.(*mediadevices.AudioTrack)
		if !ok {
			return nil, false
		}
		r := at.NewReader(false)
		return func() (string, error) {
			chunk, release, err := r.Read()
			if err != nil {
				return "", err
			}
			defer release()
			info := chunk.ChunkInfo()
			if info.Len == 0 {
				return "", errors.New("an empty chunk of sound")
			}
			return fmt.Sprintf("%d Hz, %d channel(s)", info.SamplingRate, info.Channels), nil
		}, true
	})
}

// probe opens cfg, finds the track reader picks, reads once within ctx, and closes.
func probe(ctx context.Context, cfg Config, logger *slog.Logger, reader func(mediadevices.Track) (func() (string, error), bool)) (string, error) {
	s, err := Open(cfg, logger)
	if err != nil {
		return "", err
	}
	defer s.Close()
	label := s.VideoDevice() + s.AudioDevice()
	var read func() (string, error)
	for _, t := range s.Tracks() {
		if f, ok := reader(t); ok {
			read = f
			break
		}
	}
	if read == nil {
		return "", fmt.Errorf("%s opened but gave no track", label)
	}
	type result struct {
		what string
		err  error
	}
	done := make(chan result, 1) // buffered: a read cut short may still finish
	go func() {
		what, err := read()
		done <- result{what, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", fmt.Errorf("%s: read: %w", label, r.err)
		}
		return label + ", " + r.what, nil
	case <-ctx.Done():
		s.Close() // unblocks the read in drivers that stop on close
		select {
		case <-done:
		case <-time.After(probeGrace):
		}
		return "", fmt.Errorf("%s: nothing read: %w", label, ctx.Err())
	}
}
