package opus

/*
#cgo pkg-config: opus
#include <opus.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// SampleRate is the rate of all decoded PCM, in Hz.
const SampleRate = 48000

// maxFrameSamples is the longest Opus packet, 120 ms, per channel at 48 kHz.
const maxFrameSamples = SampleRate * 120 / 1000

// Errors returned by the decoder; an *Error matches them with errors.Is.
var (
	ErrClosed        = errors.New("opus: decoder closed")
	ErrEmptyPacket   = errors.New("opus: empty packet")
	ErrInvalidPacket = errors.New("opus: invalid or corrupt packet")
	ErrBadArgument   = errors.New("opus: bad argument")
)

// Error is an error code returned by libopus.
type Error struct {
	Code int // OPUS_* error code, negative
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("libopus: %s (%d)", e.Msg, e.Code) }

// Unwrap maps the libopus code to one of the package's sentinel errors, if one fits.
func (e *Error) Unwrap() error {
	switch e.Code {
	case C.OPUS_INVALID_PACKET:
		return ErrInvalidPacket
	case C.OPUS_BAD_ARG, C.OPUS_BUFFER_TOO_SMALL:
		return ErrBadArgument
	}
	return nil
}

func opusError(rc C.int) error {
	return &Error{Code: int(rc), Msg: C.GoString(C.opus_strerror(rc))}
}

// Decoder decodes an Opus stream into 48 kHz PCM. It is not safe for concurrent use.
type Decoder struct {
	dec      *C.OpusDecoder
	channels int
	pcm      []int16
	last     int // samples per channel of the last decoded packet, for concealment
}

// NewDecoder returns a decoder producing channels (1 or 2) interleaved channels, whatever
// the sender encoded. Close frees it.
func NewDecoder(channels int) (*Decoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("opus decoder: %d channels, want 1 or 2", channels)
	}
	var rc C.int
	dec := C.opus_decoder_create(SampleRate, C.int(channels), &rc)
	if rc != C.OPUS_OK || dec == nil {
		return nil, fmt.Errorf("opus decoder: create: %w", opusError(rc))
	}
	return &Decoder{
		dec:      dec,
		channels: channels,
		pcm:      make([]int16, maxFrameSamples*channels),
		last:     SampleRate / 50, // 20 ms until a packet says otherwise
	}, nil
}

// Channels returns the number of interleaved channels in decoded PCM.
func (d *Decoder) Channels() int { return d.channels }

// Decode decodes one packet. The returned PCM is interleaved, owned by the decoder, and
// overwritten by the next call.
func (d *Decoder) Decode(packet []byte) ([]int16, error) {
	if d.dec == nil {
		return nil, ErrClosed
	}
	if len(packet) == 0 {
		return nil, ErrEmptyPacket
	}
	n, err := d.decode(packet, maxFrameSamples, false)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: decode %d bytes: %w", len(packet), err)
	}
	d.last = n
	return d.pcm[:n*d.channels], nil
}

// Conceal produces PCM for one lost packet by libopus's packet-loss concealment, as long as
// the last decoded packet. The result is overwritten by the next call.
func (d *Decoder) Conceal() ([]int16, error) {
	if d.dec == nil {
		return nil, ErrClosed
	}
	n, err := d.decode(nil, d.last, false)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: conceal %d samples: %w", d.last, err)
	}
	return d.pcm[:n*d.channels], nil
}

// DecodeFEC rebuilds the packet lost just before next from next's in-band FEC data (or
// conceals it if next carries none). Call Decode(next) afterwards as usual. The result is
// overwritten by the next call.
func (d *Decoder) DecodeFEC(next []byte) ([]int16, error) {
	if d.dec == nil {
		return nil, ErrClosed
	}
	if len(next) == 0 {
		return d.Conceal()
	}
	n, err := d.decode(next, d.last, true)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: fec from %d bytes: %w", len(next), err)
	}
	return d.pcm[:n*d.channels], nil
}

// decode returns the samples per channel written to d.pcm. frameSize must be a multiple of
// 2.5 ms for concealment and FEC.
func (d *Decoder) decode(packet []byte, frameSize int, fec bool) (int, error) {
	var data *C.uchar
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	f := C.int(0)
	if fec {
		f = 1
	}
	// libopus writes into the Go slice during the call and keeps no pointer to it.
	n := C.opus_decode(d.dec, data, C.opus_int32(len(packet)),
		(*C.opus_int16)(unsafe.Pointer(&d.pcm[0])), C.int(frameSize), f)
	if n < 0 {
		return 0, opusError(n)
	}
	return int(n), nil
}

// Close frees the decoder. It is idempotent.
func (d *Decoder) Close() error {
	if d.dec != nil {
		C.opus_decoder_destroy(d.dec)
		d.dec = nil
	}
	return nil
}
