package capture

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/webrtc/v4"

	"github.com/carebooth/carebooth/media/opus"
	"github.com/carebooth/carebooth/media/vp8"
)

// Source names with a meaning of their own in Config.Video and Config.Audio.
const (
	SourceAuto = "auto"
	SourceTest = "test"
	SourceOff  = "off"
)

// Labels of mediadevices' test drivers.
const (
	videoTestLabel = "VideoTest"
	audioTestLabel = "AudioTest"
)

// Defaults for Config fields left zero.
const (
	DefaultWidth        = 640
	DefaultHeight       = 480
	DefaultFPS          = 30
	DefaultVideoBitrate = vp8.DefaultBitRate
	DefaultAudioBitrate = 32_000
)

// Errors for a configured device that is not there.
var (
	ErrNoCamera     = errors.New("no camera")
	ErrNoMicrophone = errors.New("no microphone")
)

// Config says what to open and how to encode it. The zero value opens "auto" sources at
// 640x480, 30 fps.
type Config struct {
	Video string // "auto" (also when empty), "test", "off", or a device label or path
	Audio string // as Video

	Width, Height int // wanted capture size; the closest the camera offers is taken
	FPS           int // wanted frame rate

	VideoBitrate int // bits per second
	AudioBitrate int // bits per second
	CPUUsed      int // libvpx cpu-used; zero means vp8.DefaultCPUUsed

	// Shared copies each video frame out of the driver's buffer before the encoders see it.
	// Set it when the tracks go to more than one call at once (two calls in one test
	// process): each call has its own encoder, and drivers such as videotest overwrite their
	// one buffer with the next frame while another encoder may still be reading it. A booth
	// has one call and leaves it off, saving a copy per frame.
	Shared bool

	// Mute, if set, silences the microphone while it is on (see Mute).
	Mute *Mute

	// OnSelfFrame, if set, is given every camera frame the encoder takes, for the booth's
	// self-view. It runs on the encoder's goroutine and must not keep the frame (copy it,
	// as hw/screen's Display.SetSelfFrame does) or block. Frames that are not YCbCr (a
	// camera delivering RGB) are not shown.
	OnSelfFrame func(*image.YCbCr)
}

func (c Config) withDefaults() Config {
	if c.Video == "" {
		c.Video = SourceAuto
	}
	if c.Audio == "" {
		c.Audio = SourceAuto
	}
	if c.Width <= 0 {
		c.Width = DefaultWidth
	}
	if c.Height <= 0 {
		c.Height = DefaultHeight
	}
	if c.FPS <= 0 {
		c.FPS = DefaultFPS
	}
	if c.VideoBitrate <= 0 {
		c.VideoBitrate = DefaultVideoBitrate
	}
	if c.AudioBitrate <= 0 {
		c.AudioBitrate = DefaultAudioBitrate
	}
	return c
}

// NewCodecSelector returns mediadevices' codec selector with media/vp8's encoder and
// media/opus's Opus encoder (in-band FEC on), configured from cfg.
func NewCodecSelector(cfg Config) (*mediadevices.CodecSelector, error) {
	cfg = cfg.withDefaults()
	if cfg.CPUUsed < -16 || cfg.CPUUsed > 16 {
		return nil, fmt.Errorf("cpu-used %d is outside -16..16", cfg.CPUUsed)
	}
	// media/opus's encoder, not mediadevices': it turns on in-band FEC.
	op := opus.Params{BitRate: cfg.AudioBitrate}
	return mediadevices.NewCodecSelector(
		mediadevices.WithVideoEncoders(vp8.Params{
			BitRate:          cfg.VideoBitrate,
			CPUUsed:          cfg.CPUUsed,
			KeyFrameInterval: vp8.DefaultKeyFrameInterval,
		}),
		mediadevices.WithAudioEncoders(audioEncoder(op, cfg.Mute)),
	), nil
}

// audioEncoder gates b's input through mute, when there is one.
func audioEncoder(b codec.AudioEncoderBuilder, mute *Mute) codec.AudioEncoderBuilder {
	if mute == nil {
		return b
	}
	return mutedAudio{AudioEncoderBuilder: b, mute: mute}
}

// RegisterCodecs registers the codecs capture's encoders produce (VP8, Opus) in m, with the
// payload types mediadevices uses. media/call adds RTCP feedback on top.
func RegisterCodecs(m *webrtc.MediaEngine) error {
	sel, err := NewCodecSelector(Config{})
	if err != nil {
		return err
	}
	sel.Populate(m)
	return nil
}

// Stream is open local media. Close stops the devices.
type Stream struct {
	tracks    []mediadevices.Track
	video     string
	audio     string
	closeOnce sync.Once
	closeErr  error
}

// Open opens the camera and microphone that cfg names and returns their tracks. logger gets
// which devices were taken.
func Open(cfg Config, logger *slog.Logger) (*Stream, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "capture")
	sel, err := NewCodecSelector(cfg)
	if err != nil {
		return nil, err
	}
	s := &Stream{}
	devices := mediadevices.EnumerateDevices()

	if cfg.Video != SourceOff {
		dev, err := pick(devices, mediadevices.VideoInput, cfg.Video, videoTestLabel)
		if err != nil {
			return nil, fmt.Errorf("camera %q: %w", cfg.Video, ErrNoCamera)
		}
		tracks, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
			Video: func(c *mediadevices.MediaTrackConstraints) {
				c.DeviceID = prop.StringExact(dev.DeviceID)
				c.Width = prop.Int(cfg.Width)
				c.Height = prop.Int(cfg.Height)
				c.FrameRate = prop.Float(cfg.FPS)
			},
			Codec: sel,
		})
		if err != nil {
			return nil, fmt.Errorf("open camera %q: %w", dev.Label, err)
		}
		for _, t := range tracks.GetTracks() {
			if vt, ok := t.(*mediadevices.VideoTrack); ok {
				if cfg.Shared {
					vt.Transform(copyFrames)
				}
				if cfg.OnSelfFrame != nil {
					vt.Transform(tapFrames(cfg.OnSelfFrame))
				}
			}
			s.tracks = append(s.tracks, t)
		}
		s.video = dev.Label
		logger.Info("camera open", "config", cfg.Video, "device", dev.Label,
			"test_source", dev.Label == videoTestLabel, "width", cfg.Width, "height", cfg.Height, "fps", cfg.FPS)
	}
	if cfg.Audio != SourceOff {
		dev, err := pick(devices, mediadevices.AudioInput, cfg.Audio, audioTestLabel)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("microphone %q: %w", cfg.Audio, ErrNoMicrophone)
		}
		tracks, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
			Audio: func(c *mediadevices.MediaTrackConstraints) {
				c.DeviceID = prop.StringExact(dev.DeviceID)
				c.SampleRate = prop.Int(48000)
				c.ChannelCount = prop.Int(1)
				c.Latency = prop.Duration(20 * time.Millisecond)
			},
			Codec: sel,
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open microphone %q: %w", dev.Label, err)
		}
		s.tracks = append(s.tracks, tracks.GetTracks()...)
		s.audio = dev.Label
		logger.Info("microphone open", "config", cfg.Audio, "device", dev.Label,
			"test_source", dev.Label == audioTestLabel)
	}
	return s, nil
}

// copyFrames gives every frame its own buffer; see Config.Shared.
func copyFrames(r video.Reader) video.Reader {
	return video.ReaderFunc(func() (image.Image, func(), error) {
		img, release, err := r.Read()
		if err != nil {
			return nil, func() {}, err
		}
		defer release()
		b := img.Bounds()
		var out image.Image
		switch src := img.(type) {
		case *image.YCbCr:
			out = &image.YCbCr{Y: slices.Clone(src.Y), Cb: slices.Clone(src.Cb), Cr: slices.Clone(src.Cr),
				YStride: src.YStride, CStride: src.CStride, SubsampleRatio: src.SubsampleRatio, Rect: src.Rect}
		default:
			dst := image.NewRGBA(b)
			draw.Draw(dst, b, img, b.Min, draw.Src)
			out = dst
		}
		return out, func() {}, nil
	})
}

// tapFrames shows each YCbCr frame to see on its way to the encoder (the self-view): one
// camera, read once, rather than a second reader that would need frames of its own.
func tapFrames(see func(*image.YCbCr)) video.TransformFunc {
	return func(r video.Reader) video.Reader {
		return video.ReaderFunc(func() (image.Image, func(), error) {
			img, release, err := r.Read()
			if err == nil {
				if f, ok := img.(*image.YCbCr); ok {
					see(f)
				}
			}
			return img, release, err
		})
	}
}

// pick finds the device that want names among devices of kind.
func pick(devices []mediadevices.MediaDeviceInfo, kind mediadevices.MediaDeviceType, want, testLabel string) (mediadevices.MediaDeviceInfo, error) {
	var test, real *mediadevices.MediaDeviceInfo
	for i := range devices {
		d := &devices[i]
		if d.Kind != kind || d.DeviceType == driver.Screen {
			continue
		}
		switch {
		case d.Label == testLabel:
			test = d
		case real == nil && want == SourceAuto:
			real = d
		}
		if want != SourceAuto && want != SourceTest && labelMatches(d.Label, want) {
			return *d, nil
		}
	}
	switch {
	case want == SourceAuto && real != nil:
		return *real, nil
	case (want == SourceAuto || want == SourceTest) && test != nil:
		return *test, nil
	}
	return mediadevices.MediaDeviceInfo{}, errors.New("not found")
}

// labelMatches reports whether a driver label such as "video0;video0" (mediadevices' camera
// driver joins name and device link with ";") is the device the user named, by the whole
// label, one part, or a path's last element.
func labelMatches(label, want string) bool {
	if label == want {
		return true
	}
	for _, part := range strings.Split(label, ";") {
		if part == want || filepath.Base(part) == filepath.Base(want) {
			return true
		}
	}
	return false
}

// Tracks returns the open tracks: video first, then audio. They belong to the Stream.
func (s *Stream) Tracks() []mediadevices.Track { return s.tracks }

// VideoDevice returns the label of the camera opened, empty if none.
func (s *Stream) VideoDevice() string { return s.video }

// AudioDevice returns the label of the microphone opened, empty if none.
func (s *Stream) AudioDevice() string { return s.audio }

// Close stops every track and releases the devices. It is idempotent.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, t := range s.tracks {
			if err := t.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close track %s: %w", t.ID(), err))
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Available reports whether the camera and the microphone cfg names are among devices
// (mediadevices.EnumerateDevices): "off" needs nothing, "test" the test source, a name that
// device, and "auto" a real one. Open's "auto" falls back to the test sources so a call can
// still take place, but a booth whose camera or microphone is missing has a fault to show.
func Available(cfg Config, devices []mediadevices.MediaDeviceInfo) (video, audio bool) {
	has := func(want string, kind mediadevices.MediaDeviceType, testLabel string) bool {
		if want == "" {
			want = SourceAuto
		}
		if want == SourceOff {
			return true
		}
		d, err := pick(devices, kind, want, testLabel)
		return err == nil && (want == SourceTest || d.Label != testLabel)
	}
	return has(cfg.Video, mediadevices.VideoInput, videoTestLabel), has(cfg.Audio, mediadevices.AudioInput, audioTestLabel)
}
