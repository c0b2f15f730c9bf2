package opus

/*
#cgo pkg-config: opus
#include <opus.h>

static int cb_enc_setup(OpusEncoder *e, int bps, int fec, int loss_perc) {
	int rc = opus_encoder_ctl(e, OPUS_SET_BITRATE(bps));
	if (rc != OPUS_OK) return rc;
	rc = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(fec));
	if (rc != OPUS_OK) return rc;
	rc = opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(loss_perc));
	if (rc != OPUS_OK) return rc;
	return opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
}
static int cb_enc_bitrate(OpusEncoder *e, int bps) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(bps)); }
*/
import "C"

import (
	"fmt"
	"io"
	"sync"
	"time"
	"unsafe"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
	"github.com/pion/mediadevices/pkg/wave/mixer"
)

// Encoder defaults.
const (
	// DefaultBitRate suits speech with in-band FEC's redundancy on top.
	DefaultBitRate = 32000
	// DefaultLossPercent is the loss the in-band FEC is sized for until the receiver's
	// reports say otherwise: the care-home Wi-Fi the booth is built for.
	DefaultLossPercent = 10
	// frameDuration is one packet's audio.
	frameDuration = 20 * time.Millisecond
)

// Params builds the booth's Opus encoder for mediadevices: voice, mono, 20 ms packets, and
// in-band FEC (RFC 6716 section 2.1.7), which mediadevices' own encoder does not turn on.
// With it, a lost packet is rebuilt from the next one at the receiver (browsers and
// media/playout do), instead of concealed: speech stays intelligible at 10% loss.
type Params struct {
	// BitRate in bits per second; zero means DefaultBitRate.
	BitRate int
	// LossPercent is the expected loss the FEC is sized for (0-100); zero means
	// DefaultLossPercent. A negative value turns FEC off.
	LossPercent int
}

var _ codec.AudioEncoderBuilder = Params{}

// RTPCodec is Opus as RFC 7587 names it.
func (p Params) RTPCodec() *codec.RTPCodec { return codec.NewRTPOpusCodec(SampleRate) }

// BuildAudioEncoder returns an encoder reading r, whose properties m gives.
func (p Params) BuildAudioEncoder(r audio.Reader, m prop.Media) (codec.ReadCloser, error) {
	if m.SampleRate == 0 {
		return nil, fmt.Errorf("opus encoder: the source's sample rate is required")
	}
	if p.BitRate <= 0 {
		p.BitRate = DefaultBitRate
	}
	fec, loss := 1, p.LossPercent
	switch {
	case loss < 0:
		fec, loss = 0, 0
	case loss == 0:
		loss = DefaultLossPercent
	case loss > 100:
		return nil, fmt.Errorf("opus encoder: loss %d%%: must be 0-100", loss)
	}
	var rc C.int
	enc := C.opus_encoder_create(C.opus_int32(m.SampleRate), 1, C.OPUS_APPLICATION_VOIP, &rc)
	if rc != C.OPUS_OK || enc == nil {
		return nil, fmt.Errorf("opus encoder: create at %d Hz: %w", m.SampleRate, opusError(rc))
	}
	if rc = C.cb_enc_setup(enc, C.int(p.BitRate), C.int(fec), C.int(loss)); rc != C.OPUS_OK {
		C.opus_encoder_destroy(enc)
		return nil, fmt.Errorf("opus encoder: set up: %w", opusError(rc))
	}
	samples := m.SampleRate * int(frameDuration/time.Millisecond) / 1000
	// One channel, 20 ms a read: what mediadevices' encoder does with its mixer and buffer.
	rd := audio.NewChannelMixer(1, &mixer.MonoMixer{})(audio.NewBuffer(samples)(r))
	return &encoder{enc: enc, r: rd, out: make([]byte, 1276)}, nil
}

// encoder encodes 20 ms a Read. Read and the controller's methods are safe together.
type encoder struct {
	r audio.Reader

	mu  sync.Mutex // guards enc and out
	enc *C.OpusEncoder
	out []byte
}

var (
	_ codec.ReadCloser        = (*encoder)(nil)
	_ codec.BitRateController = (*encoder)(nil)
)

func (e *encoder) Read() ([]byte, func(), error) {
	buf, release, err := e.r.Read()
	if err != nil {
		return nil, func() {}, err
	}
	defer release()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return nil, func() {}, io.EOF
	}
	var n C.opus_int32
	switch b := buf.(type) {
	case *wave.Int16Interleaved:
		n = C.opus_encode(e.enc, (*C.opus_int16)(unsafe.Pointer(&b.Data[0])), C.int(b.ChunkInfo().Len),
			(*C.uchar)(unsafe.Pointer(&e.out[0])), C.opus_int32(len(e.out)))
	case *wave.Float32Interleaved:
		n = C.opus_encode_float(e.enc, (*C.float)(unsafe.Pointer(&b.Data[0])), C.int(b.ChunkInfo().Len),
			(*C.uchar)(unsafe.Pointer(&e.out[0])), C.opus_int32(len(e.out)))
	default:
		return nil, func() {}, fmt.Errorf("opus encoder: audio of type %T", buf)
	}
	if n < 0 {
		return nil, func() {}, fmt.Errorf("opus encoder: encode: %w", opusError(C.int(n)))
	}
	// The packet is copied: mediadevices packetizes it after Read returns, and the next
	// Read reuses out.
	return append([]byte(nil), e.out[:n]...), func() {}, nil
}

// SetBitRate sets the bitrate from the next packet on.
func (e *encoder) SetBitRate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return io.EOF
	}
	if rc := C.cb_enc_bitrate(e.enc, C.int(bps)); rc != C.OPUS_OK {
		return fmt.Errorf("opus encoder: bitrate %d: %w", bps, opusError(rc))
	}
	return nil
}

func (e *encoder) Controller() codec.EncoderController { return e }

func (e *encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc != nil {
		C.opus_encoder_destroy(e.enc)
		e.enc = nil
	}
	return nil
}
