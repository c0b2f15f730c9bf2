package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	unsigned char *buf;
	size_t cap;
} cb_dec;

static vpx_codec_err_t cb_dec_new(cb_dec **out, unsigned threads) {
	cb_dec *d = calloc(1, sizeof *d);
	if (d == NULL) return VPX_CODEC_MEM_ERROR;
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = threads;
	vpx_codec_err_t err = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (err != VPX_CODEC_OK) { free(d); return err; }
	*out = d;
	return VPX_CODEC_OK;
}

static void cb_dec_free(cb_dec *d) {
	vpx_codec_destroy(&d->ctx);
	free(d->buf);
	free(d);
}

// cb_dec_decode copies the Go bytes into C memory before decoding, so libvpx never holds a
// pointer to Go memory.
static vpx_codec_err_t cb_dec_decode(cb_dec *d, const void *data, size_t n) {
	if (n > d->cap) {
		unsigned char *b = realloc(d->buf, n);
		if (b == NULL) return VPX_CODEC_MEM_ERROR;
		d->buf = b;
		d->cap = n;
	}
	memcpy(d->buf, data, n);
	return vpx_codec_decode(&d->ctx, d->buf, (unsigned int)n, NULL, 0);
}

static vpx_image_t *cb_dec_frame(cb_dec *d) {
	vpx_codec_iter_t iter = NULL;
	return vpx_codec_get_frame(&d->ctx, &iter);
}
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"
)

// IsKeyFrame reports whether frame, a complete VP8 frame, starts with a keyframe header
// (RFC 6386 section 9.1: bit 0 of the first byte is 0 for keyframes).
func IsKeyFrame(frame []byte) bool {
	return len(frame) >= 10 && frame[0]&1 == 0 &&
		frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a
}

// Decoder decodes VP8 frames. It is not safe for concurrent use.
type Decoder struct {
	dec    *C.cb_dec
	img    *image.YCbCr
	hasKey bool
}

// DecoderConfig configures a Decoder. The zero value is usable.
type DecoderConfig struct {
	// Threads for libvpx; zero means one, which is right for VGA on a Pi.
	Threads int
}

// NewDecoder returns a decoder; Close frees it.
func NewDecoder(cfg DecoderConfig) (*Decoder, error) {
	threads := max(cfg.Threads, 1)
	var d *C.cb_dec
	if rc := C.cb_dec_new(&d, C.uint(threads)); rc != C.VPX_CODEC_OK {
		return nil, fmt.Errorf("vp8 decoder: init: %w", codecError(rc))
	}
	return &Decoder{dec: d}, nil
}

// Decode decodes one complete frame. The returned image is owned by the decoder and is
// overwritten by the next Decode; copy it to keep it. Until a keyframe has been decoded, an
// interframe gives ErrNeedKeyFrame. A frame libvpx refuses gives a *CodecError (matching
// ErrCorruptFrame or ErrUnsupported); after one, the caller should ask for a keyframe.
func (d *Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	if d.dec == nil {
		return nil, ErrClosed
	}
	if len(frame) == 0 {
		return nil, ErrEmptyFrame
	}
	key := IsKeyFrame(frame)
	if !d.hasKey && !key {
		return nil, ErrNeedKeyFrame
	}
	if rc := C.cb_dec_decode(d.dec, unsafe.Pointer(&frame[0]), C.size_t(len(frame))); rc != C.VPX_CODEC_OK {
		if key {
			d.hasKey = false
		}
		return nil, fmt.Errorf("vp8 decoder: decode %d bytes: %w", len(frame), codecError(rc))
	}
	if key {
		d.hasKey = true
	}
	vi := C.cb_dec_frame(d.dec)
	if vi == nil {
		return nil, ErrNoImage
	}
	if vi.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("vp8 decoder: image format %d: %w", int(vi.fmt), ErrUnsupported)
	}
	w, h := int(vi.d_w), int(vi.d_h)
	if d.img == nil || d.img.Rect.Dx() != w || d.img.Rect.Dy() != h {
		d.img = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(d.img.Y, d.img.YStride, vi.planes[0], int(vi.stride[0]), w, h)
	copyPlane(d.img.Cb, d.img.CStride, vi.planes[1], int(vi.stride[1]), cw, ch)
	copyPlane(d.img.Cr, d.img.CStride, vi.planes[2], int(vi.stride[2]), cw, ch)
	return d.img, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, w, h int) {
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), srcStride*(h-1)+w)
	for y := 0; y < h; y++ {
		copy(dst[y*dstStride:y*dstStride+w], s[y*srcStride:y*srcStride+w])
	}
}

// Close frees the decoder. It is idempotent.
func (d *Decoder) Close() error {
	if d.dec != nil {
		C.cb_dec_free(d.dec)
		d.dec = nil
	}
	return nil
}
