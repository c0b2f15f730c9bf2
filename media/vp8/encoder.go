package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t img;
} cb_enc;

static vpx_codec_err_t cb_enc_new(cb_enc **out, unsigned w, unsigned h, unsigned kbps,
		unsigned kf_max, int cpu_used, unsigned threads) {
	cb_enc *e = calloc(1, sizeof *e);
	if (e == NULL) return VPX_CODEC_MEM_ERROR;
	vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) { free(e); return err; }
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	c->g_threads = threads;
	c->g_timebase.num = 1;
	c->g_timebase.den = 90000;
	c->g_pass = VPX_RC_ONE_PASS;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	c->rc_resize_allowed = 0;
	// Below what the coarsest quantizer gives at this size, frames are dropped (the buffer
	// under a quarter full) rather than the target overshot: on a capped link the estimate
	// is what the network carries, and a frame it cannot carry only adds loss.
	c->rc_dropframe_thresh = 25;
	c->rc_min_quantizer = 2;
	c->rc_max_quantizer = 63;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->kf_mode = VPX_KF_AUTO;
	c->kf_min_dist = 0;
	c->kf_max_dist = kf_max;
	err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (err != VPX_CODEC_OK) { free(e); return err; }
	vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu_used);
	// A keyframe is at most three frames' worth of bits (what WebRTC's encoders do): one that
	// answers a PLI on a lossy link must get through, or it is lost too and asked for again.
	vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u);
	vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0u);
	vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1u);
	vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS,
		threads > 1 ? VP8_TWO_TOKENPARTITION : VP8_ONE_TOKENPARTITION);
	// Cap keyframes at 3x an average frame's bits so a PLI does not burst the link
	// (libwebrtc's MaxIntraTarget with a 0.5 s buffer at 30 fps gives the same order).
	vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u);

	vpx_image_t *img = &e->img;
	img->fmt = VPX_IMG_FMT_I420;
	img->w = img->d_w = img->r_w = w;
	img->h = img->d_h = img->r_h = h;
	img->x_chroma_shift = 1;
	img->y_chroma_shift = 1;
	img->bps = 12;
	*out = e;
	return VPX_CODEC_OK;
}

static void cb_enc_free(cb_enc *e) {
	vpx_codec_destroy(&e->ctx);
	free(e);
}

static vpx_codec_err_t cb_enc_set_bitrate(cb_enc *e, unsigned kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

// The planes are Go memory: they are only referenced during vpx_codec_encode (lag is zero,
// so libvpx has consumed the image when it returns) and cleared before returning.
static vpx_codec_err_t cb_enc_encode(cb_enc *e, unsigned char *y, unsigned char *u,
		unsigned char *v, int ystride, int cstride, long long pts, unsigned long dur,
		int force_kf) {
	vpx_image_t *img = &e->img;
	img->planes[0] = y;
	img->planes[1] = u;
	img->planes[2] = v;
	img->stride[0] = ystride;
	img->stride[1] = cstride;
	img->stride[2] = cstride;
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, img, (vpx_codec_pts_t)pts, dur,
		force_kf ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	img->planes[0] = img->planes[1] = img->planes[2] = NULL;
	return err;
}

// cb_enc_next returns the next compressed frame packet, skipping other packet kinds.
static int cb_enc_next(cb_enc *e, vpx_codec_iter_t *iter, void **buf, size_t *sz, int *key) {
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		*buf = pkt->data.frame.buf;
		*sz = pkt->data.frame.sz;
		*key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		return 1;
	}
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jonboulle/clockwork"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// Defaults for [Params] fields left zero.
const (
	DefaultBitRate          = 600_000 // bits per second, fine for 640x480 faces
	DefaultKeyFrameInterval = 300     // frames; receivers ask for more with PLI
)

// Params configures the encoder. The zero value is usable. It implements mediadevices'
// codec.VideoEncoderBuilder, so a Params goes straight into mediadevices.WithVideoEncoders.
type Params struct {
	// BitRate is the target in bits per second; zero means DefaultBitRate.
	BitRate int
	// KeyFrameInterval is the longest run of frames between keyframes; zero means
	// DefaultKeyFrameInterval.
	KeyFrameInterval int
	// CPUUsed is libvpx's VP8E_SET_CPUUSED, -16..16; zero means DefaultCPUUsed for the
	// frame size. Larger magnitudes are faster and look worse.
	CPUUsed int
	// Threads is the encoder's thread count; zero means DefaultThreads for the frame size.
	Threads int
	// Clock stamps frames for rate control; nil means the real clock.
	Clock clockwork.Clock
}

var _ codec.VideoEncoderBuilder = Params{}

// RTPCodec describes VP8 over RTP (RFC 7741) with the 90 kHz clock.
func (p Params) RTPCodec() *codec.RTPCodec {
	return codec.NewRTPVP8Codec(90000)
}

// BuildVideoEncoder builds an encoder reading frames from r.
func (p Params) BuildVideoEncoder(r video.Reader, m prop.Media) (codec.ReadCloser, error) {
	return NewEncoder(r, m, p)
}

// Encoder encodes frames read from a video.Reader. Read, ForceKeyFrame, SetBitRate and Close
// may be called from different goroutines.
type Encoder struct {
	r     video.Reader
	p     Params
	clock clockwork.Clock

	forceKey atomic.Bool
	bitrate  atomic.Int64 // wanted, bits per second

	mu      sync.Mutex // held by Read while encoding; guards everything below
	enc     *C.cb_enc
	w, h    int
	kbps    int // configured in libvpx
	start   time.Time
	lastPTS int64
	frames  int64
	out     []byte
	conv    *image.YCbCr // reused for non-4:2:0 input
	scaled  *image.YCbCr // reused for the picture scaled down for a low bitrate
	scale   int          // the divisor of width and height in force (scaleFor)
	keyOut  bool
	closed  bool
}

var (
	_ codec.ReadCloser         = (*Encoder)(nil)
	_ codec.KeyFrameController = (*Encoder)(nil)
	_ codec.BitRateController  = (*Encoder)(nil)
)

// NewEncoder builds an encoder for frames of m.Width x m.Height read from r. If the frames
// turn out to be another size, the encoder is rebuilt for it (with a keyframe).
func NewEncoder(r video.Reader, m prop.Media, p Params) (*Encoder, error) {
	if m.Width <= 0 || m.Height <= 0 {
		return nil, fmt.Errorf("vp8 encoder: frame size %dx%d is not positive", m.Width, m.Height)
	}
	if p.BitRate <= 0 {
		p.BitRate = DefaultBitRate
	}
	if p.KeyFrameInterval <= 0 {
		p.KeyFrameInterval = DefaultKeyFrameInterval
	}
	if p.CPUUsed < -16 || p.CPUUsed > 16 {
		return nil, fmt.Errorf("vp8 encoder: cpu-used %d is outside -16..16", p.CPUUsed)
	}
	if p.Clock == nil {
		p.Clock = clockwork.NewRealClock()
	}
	e := &Encoder{r: r, p: p, clock: p.Clock, out: make([]byte, 0, 64<<10)}
	e.bitrate.Store(int64(p.BitRate))
	if err := e.open(m.Width, m.Height); err != nil {
		return nil, err
	}
	return e, nil
}

// open (re)creates the libvpx encoder; must hold mu or own e exclusively.
func (e *Encoder) open(w, h int) error {
	if e.enc != nil {
		C.cb_enc_free(e.enc)
		e.enc = nil
	}
	cpu := e.p.CPUUsed
	if cpu == 0 {
		cpu = DefaultCPUUsed(w, h)
	}
	threads := e.p.Threads
	if threads <= 0 {
		threads = DefaultThreads(w, h)
	}
	kbps := max(int(e.bitrate.Load()/1000), 1)
	var enc *C.cb_enc
	if rc := C.cb_enc_new(&enc, C.uint(w), C.uint(h), C.uint(kbps), C.uint(e.p.KeyFrameInterval),
		C.int(cpu), C.uint(threads)); rc != C.VPX_CODEC_OK {
		return fmt.Errorf("vp8 encoder: init %dx%d: %w", w, h, codecError(rc))
	}
	e.enc, e.w, e.h, e.kbps = enc, w, h, kbps
	e.start = e.clock.Now()
	e.lastPTS = -1
	return nil
}

// Read reads frames from the source until one is encoded (the rate control drops some when
// the bitrate is below what the picture needs) and returns it. The returned bytes are valid
// until the next Read.
func (e *Encoder) Read() ([]byte, func(), error) {
	for {
		img, release, err := e.r.Read()
		if err != nil {
			return nil, func() {}, err
		}
		b, _, err := e.Encode(img)
		release()
		if err != nil || len(b) > 0 {
			return b, func() {}, err
		}
	}
}

// Encode encodes one image and reports whether the result is a keyframe. The returned bytes
// are valid until the next Encode or Read; they are empty when the rate control dropped the
// frame (the bitrate is below what the picture needs).
func (e *Encoder) Encode(img image.Image) ([]byte, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, io.EOF
	}
	yuv := e.i420(img)
	// A bitrate too low for the size: encode a half or a quarter of it (reopening the
	// encoder at the new size starts with a keyframe; the decoder follows).
	e.scale = scaleFor(int(e.bitrate.Load()), yuv.Rect.Dx(), yuv.Rect.Dy(), max(e.scale, 1))
	if e.scale > 1 {
		e.scaled = scaleDown(yuv, e.scale, e.scaled)
		yuv = e.scaled
	}
	b := yuv.Rect
	if b.Dx() != e.w || b.Dy() != e.h {
		if err := e.open(b.Dx(), b.Dy()); err != nil {
			return nil, false, err
		}
	}
	if want := max(int(e.bitrate.Load()/1000), 1); want != e.kbps {
		if rc := C.cb_enc_set_bitrate(e.enc, C.uint(want)); rc != C.VPX_CODEC_OK {
			return nil, false, fmt.Errorf("vp8 encoder: set bitrate %d kbit/s: %w", want, codecError(rc))
		}
		e.kbps = want
	}
	// Timestamps in the 90 kHz timebase; libvpx refuses a zero duration.
	pts := e.clock.Since(e.start).Microseconds() * 9 / 100
	if pts <= e.lastPTS {
		pts = e.lastPTS + 1
	}
	dur := int64(3000) // one frame at 30 fps for the first frame
	if e.lastPTS >= 0 {
		dur = pts - e.lastPTS
	}
	e.lastPTS = pts
	force := 0
	if e.forceKey.Swap(false) {
		force = 1
	}
	y := yuv.Y[yuv.YOffset(b.Min.X, b.Min.Y):]
	cb := yuv.Cb[yuv.COffset(b.Min.X, b.Min.Y):]
	cr := yuv.Cr[yuv.COffset(b.Min.X, b.Min.Y):]
	cstride := yuv.CStride
	if yuv.SubsampleRatio == image.YCbCrSubsampleRatio422 {
		// 4:2:2 chroma has 4:2:0's width and every row: skipping every other row makes it
		// 4:2:0 without a copy (V4L2 YUYV cameras and videotest deliver 4:2:2).
		cstride *= 2
	}
	if rc := C.cb_enc_encode(e.enc, (*C.uchar)(&y[0]), (*C.uchar)(&cb[0]), (*C.uchar)(&cr[0]),
		C.int(yuv.YStride), C.int(cstride), C.longlong(pts), C.ulong(dur), C.int(force)); rc != C.VPX_CODEC_OK {
		return nil, false, fmt.Errorf("vp8 encoder: encode frame %d: %w", e.frames, codecError(rc))
	}
	e.frames++
	e.out = e.out[:0]
	e.keyOut = false
	var iter C.vpx_codec_iter_t
	var buf unsafe.Pointer
	var sz C.size_t
	var key C.int
	for C.cb_enc_next(e.enc, &iter, &buf, &sz, &key) != 0 {
		e.out = append(e.out, unsafe.Slice((*byte)(buf), int(sz))...)
		e.keyOut = e.keyOut || key != 0
	}
	return e.out, e.keyOut, nil
}

// i420 returns img as YCbCr that Encode can hand to libvpx as it is (4:2:0, or 4:2:2 read
// as 4:2:0), converting into a reused buffer otherwise.
// Must hold mu.
func (e *Encoder) i420(img image.Image) *image.YCbCr {
	if y, ok := img.(*image.YCbCr); ok && (y.SubsampleRatio == image.YCbCrSubsampleRatio420 ||
		y.SubsampleRatio == image.YCbCrSubsampleRatio422) &&
		y.Rect.Min.X%2 == 0 && y.Rect.Min.Y%2 == 0 && y.Rect.Dx() > 0 && y.Rect.Dy() > 0 {
		return y
	}
	r := img.Bounds()
	if e.conv == nil || e.conv.Rect.Dx() != r.Dx() || e.conv.Rect.Dy() != r.Dy() {
		e.conv = image.NewYCbCr(image.Rect(0, 0, r.Dx(), r.Dy()), image.YCbCrSubsampleRatio420)
	}
	dst := e.conv
	switch src := img.(type) {
	case *image.YCbCr:
		for y := 0; y < r.Dy(); y++ {
			copy(dst.Y[y*dst.YStride:y*dst.YStride+r.Dx()], src.Y[src.YOffset(r.Min.X, r.Min.Y+y):])
		}
		for y := 0; y < (r.Dy()+1)/2; y++ {
			for x := 0; x < (r.Dx()+1)/2; x++ {
				ci := src.COffset(r.Min.X+2*x, r.Min.Y+2*y)
				dst.Cb[y*dst.CStride+x] = src.Cb[ci]
				dst.Cr[y*dst.CStride+x] = src.Cr[ci]
			}
		}
	default:
		for y := 0; y < r.Dy(); y++ {
			for x := 0; x < r.Dx(); x++ {
				c := color.YCbCrModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.YCbCr)
				dst.Y[y*dst.YStride+x] = c.Y
				if x%2 == 0 && y%2 == 0 {
					dst.Cb[(y/2)*dst.CStride+x/2] = c.Cb
					dst.Cr[(y/2)*dst.CStride+x/2] = c.Cr
				}
			}
		}
	}
	return dst
}

// ForceKeyFrame makes the next frame a keyframe; call.go does this on PLI/FIR.
func (e *Encoder) ForceKeyFrame() error {
	e.forceKey.Store(true)
	return nil
}

// SetBitRate sets the target bitrate in bits per second, from the next frame on.
func (e *Encoder) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("vp8 encoder: bitrate %d is not positive", bps)
	}
	e.bitrate.Store(int64(bps))
	return nil
}

// Controller returns the encoder itself: it is a KeyFrameController and a BitRateController.
func (e *Encoder) Controller() codec.EncoderController { return e }

// Close frees the libvpx encoder. It is idempotent.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if e.enc != nil {
		C.cb_enc_free(e.enc)
		e.enc = nil
	}
	return nil
}

// Errors reported by the encoder and decoder; a *CodecError matches them with errors.Is.
var (
	ErrClosed       = errors.New("vp8: closed")
	ErrCorruptFrame = errors.New("vp8: corrupt frame")
	ErrUnsupported  = errors.New("vp8: unsupported bitstream or parameter")
	ErrNeedKeyFrame = errors.New("vp8: decoder needs a keyframe first")
	ErrEmptyFrame   = errors.New("vp8: empty frame")
	ErrNoImage      = errors.New("vp8: decoder produced no image")
	errOutOfMemory  = errors.New("vp8: out of memory")
)

// CodecError is an error code returned by libvpx.
type CodecError struct {
	Code int    // vpx_codec_err_t
	Msg  string // vpx_codec_err_to_string
}

func (e *CodecError) Error() string { return fmt.Sprintf("libvpx: %s (%d)", e.Msg, e.Code) }

// Unwrap maps the libvpx code to one of the package's sentinel errors, if one fits.
func (e *CodecError) Unwrap() error {
	switch e.Code {
	case C.VPX_CODEC_CORRUPT_FRAME:
		return ErrCorruptFrame
	case C.VPX_CODEC_UNSUP_BITSTREAM, C.VPX_CODEC_UNSUP_FEATURE, C.VPX_CODEC_INCAPABLE,
		C.VPX_CODEC_INVALID_PARAM:
		return ErrUnsupported
	case C.VPX_CODEC_MEM_ERROR:
		return errOutOfMemory
	}
	return nil
}

func codecError(rc C.vpx_codec_err_t) error {
	return &CodecError{Code: int(rc), Msg: C.GoString(C.vpx_codec_err_to_string(rc))}
}
