package call

import (
	"strings"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// negotiatedPT makes a local track send with the payload type the SDP negotiated.
//
// mediadevices v0.10.0 packetizes with its own payload types (VP8 96, Opus 111) whatever the
// offer said, and its writer does not rewrite them. Chromium happens to offer those same
// numbers, so calls with Chromium work; Firefox offers others (VP8 120, Opus 109) and drops
// every packet, so a clinician on Firefox would neither see nor hear the patient.
type negotiatedPT struct {
	webrtc.TrackLocal
	// bound, if set, is handed the track's encoder once Bind has built it, from the
	// goroutine that bound it: mediadevices' EncoderController reads the field bind writes
	// without its lock, so it is read here, after Bind returns, and nowhere else.
	bound func(codec.EncoderController)
}

// Bind tells the track to write through a context that stamps the negotiated payload type.
// The engine registers one codec per kind, so the sender's codec is the first one that is
// not a retransmission or FEC format.
func (t negotiatedPT) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		switch strings.ToLower(c.MimeType) {
		case "video/rtx", "video/red", "video/ulpfec", "audio/red":
			continue
		}
		p, err := t.TrackLocal.Bind(ptContext{TrackLocalContext: ctx, pt: uint8(c.PayloadType)})
		if rc, ok := t.TrackLocal.(rateController); ok && err == nil && t.bound != nil && t.Kind() == webrtc.RTPCodecTypeVideo {
			t.bound(rc.EncoderController())
		}
		return p, err
	}
	return t.TrackLocal.Bind(ctx) // nothing negotiated: let the track report it
}

// ptContext is a bind context whose writer stamps pt on every packet. mediadevices keys its
// bindings by ctx.ID(), which the embedding passes through, so Unbind finds them.
type ptContext struct {
	webrtc.TrackLocalContext
	pt uint8
}

func (c ptContext) WriteStream() webrtc.TrackLocalWriter {
	return ptWriter{TrackLocalWriter: c.TrackLocalContext.WriteStream(), pt: c.pt}
}

type ptWriter struct {
	webrtc.TrackLocalWriter
	pt uint8
}

// WriteRTP stamps the payload type and never reports a write error. mediadevices v0.10.0
// (track.go, baseTrack.unbind) races: Unbind takes the binding out of its map, then hands
// the writer goroutine a channel; if that goroutine ends on a write error at the same
// moment (just what happens when the remote goes away), nobody receives and Unbind blocks
// for ever, holding pion's PeerConnection lock. Swallowing the error keeps the goroutine
// until Unbind or the track's close ends it, and a stopped sender drops what it is given.
func (w ptWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	h.PayloadType = w.pt
	if _, err := w.TrackLocalWriter.WriteRTP(h, payload); err != nil {
		return len(payload), nil //nolint:nilerr // see above
	}
	return len(payload), nil
}

// Write takes a marshalled packet; it is rewritten, and errors swallowed, the same way.
func (w ptWriter) Write(b []byte) (int, error) {
	if len(b) >= 2 {
		b[1] = b[1]&0x80 | w.pt&0x7f // keep the marker bit, replace the payload type
	}
	if _, err := w.TrackLocalWriter.Write(b); err != nil {
		return len(b), nil //nolint:nilerr // see WriteRTP
	}
	return len(b), nil
}
