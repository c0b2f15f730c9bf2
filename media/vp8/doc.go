// Package vp8 provides a VP8 encoder and decoder backed by libvpx through cgo.
//
// The encoder ([Params], [Encoder]) plugs into mediadevices' CodecSelector as a
// codec.VideoEncoderBuilder, like mediadevices' own vpx.VP8Params, but it is configured for
// live calls on a small ARM board: realtime deadline, one pass CBR, no lag, error-resilient
// mode (so a lost frame does not poison the probability contexts of the ones after it), and
// VP8E_SET_CPUUSED set. mediadevices v0.10.0 never sets cpu-used, which leaves libvpx at its
// slowest, best-quality speed; that is several times too slow for a Raspberry Pi.
//
// The default speed ([DefaultCPUUsed]) follows libwebrtc's choice for VP8 (see
// libvpx_vp8_encoder.cc, GetCpuSpeed): -6 on desktop CPUs, and on ARM -12 for boards with
// three cores or fewer, otherwise -8 up to CIF, -10 up to VGA and -12 above. A negative value
// lets libvpx adapt its speed to the time budget of a realtime frame, using at most that
// magnitude; see the VP8E_SET_CPUUSED comment in vpx/vp8cx.h.
//
// Images are handed to libvpx without a copy when they are *image.YCbCr with 4:2:0 or 4:2:2
// subsampling (4:2:2 is what V4L2 YUYV cameras and mediadevices' videotest produce; its chroma
// planes are read as 4:2:0 by skipping every other row); other image types are
// converted into a buffer the encoder reuses. Encoded frames are copied into a reused Go
// buffer, which is valid until the next Read, so a steady stream allocates nothing per frame.
//
// The decoder ([Decoder]) takes one complete VP8 frame (as reassembled from RTP) and returns
// an *image.YCbCr that it reuses from frame to frame. Go memory is never retained by C: the
// encoder points libvpx at the Go image only for the duration of one vpx_codec_encode call and
// clears the pointers before returning; the decoder copies each frame into C memory first.
//
// References: RFC 6386 (VP8 data format and decoding guide), RFC 7741 (RTP payload format for
// VP8), the libvpx API in vpx/vpx_encoder.h, vpx/vpx_decoder.h and vpx/vp8cx.h.
package vp8
