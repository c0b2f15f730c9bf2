// Package opusenc is a minimal libopus encoder for media/playout's tests and benchmark: it
// turns on in-band FEC (RFC 6716 section 2.1.7), which mediadevices' encoder does not
// expose, so the jitter buffer's FEC path can be exercised with real packets, as browsers
// send them (useinbandfec=1).
package opusenc

/*
#cgo pkg-config: opus
#include <opus.h>

static int set_fec(OpusEncoder *e, int loss_perc) {
	int rc = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(1));
	if (rc != OPUS_OK) return rc;
	return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(loss_perc));
}
static int set_bitrate(OpusEncoder *e, int bps) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(bps)); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// SampleRate is the encoder's input rate.
const SampleRate = 48000

// Encoder encodes mono 48 kHz PCM. It is not safe for concurrent use.
type Encoder struct {
	enc *C.OpusEncoder
	out []byte
}

// New returns a VoIP-mode encoder at bitrate bit/s; lossPerc > 0 turns on in-band FEC
// sized for that expected loss.
func New(bitrate, lossPerc int) (*Encoder, error) {
	var rc C.int
	enc := C.opus_encoder_create(SampleRate, 1, C.OPUS_APPLICATION_VOIP, &rc)
	if rc != C.OPUS_OK || enc == nil {
		return nil, fmt.Errorf("opus encoder: create: %s", C.GoString(C.opus_strerror(rc)))
	}
	if rc = C.set_bitrate(enc, C.int(bitrate)); rc != C.OPUS_OK {
		C.opus_encoder_destroy(enc)
		return nil, fmt.Errorf("opus encoder: bitrate %d: %s", bitrate, C.GoString(C.opus_strerror(rc)))
	}
	if lossPerc > 0 {
		if rc = C.set_fec(enc, C.int(lossPerc)); rc != C.OPUS_OK {
			C.opus_encoder_destroy(enc)
			return nil, fmt.Errorf("opus encoder: fec: %s", C.GoString(C.opus_strerror(rc)))
		}
	}
	return &Encoder{enc: enc, out: make([]byte, 1500)}, nil
}

// Encode encodes one frame (2.5 to 60 ms of samples) and returns a packet owned by the
// caller.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) {
	if e.enc == nil {
		return nil, fmt.Errorf("opus encoder: closed")
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("opus encoder: empty frame")
	}
	n := C.opus_encode(e.enc, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)),
		(*C.uchar)(unsafe.Pointer(&e.out[0])), C.opus_int32(len(e.out)))
	if n < 0 {
		return nil, fmt.Errorf("opus encoder: encode %d samples: %s", len(pcm), C.GoString(C.opus_strerror(n)))
	}
	return append([]byte(nil), e.out[:n]...), nil
}

// Close frees the encoder; it is idempotent.
func (e *Encoder) Close() {
	if e.enc != nil {
		C.opus_encoder_destroy(e.enc)
		e.enc = nil
	}
}
