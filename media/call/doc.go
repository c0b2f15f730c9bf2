// Package call runs one WebRTC call with pion/webrtc: local tracks out (VP8 from media/vp8,
// Opus from mediadevices, both through media/capture), remote tracks in and decoded (media/vp8,
// media/opus), loss repair and statistics.
//
// An [Engine] is built once per process from an [EngineConfig]: the codecs, the interceptors
// (NACK generator and responder per RFC 4585, sender and receiver reports per RFC 3550,
// transport-wide congestion control feedback, stream statistics) and the network settings
// (loopback candidates for tests, UDP port range, ICE timeouts). [Engine.NewCall] then makes
// one [Call] per consultation. The clinician's side offers and the booth answers, following
// the signalling package's call flow; candidates trickle both ways through
// [Options.OnCandidate] and [Call.AddCandidate], and candidates that arrive before the remote
// description are kept until it is set.
//
// Receiving: VP8 RTP packets (RFC 7741) are reassembled into frames with pion's sample
// builder, which waits a little for NACKed packets, and decoded. Until the decoder has a
// keyframe, and after a lost packet breaks the chain of reference frames, the receiver shows
// nothing new and sends a picture loss indication (PLI, RFC 4585 section 6.3.1) every
// PLIInterval until a keyframe comes; it also asks when packets arrive but no frame has
// decoded for StallTimeout. Opus packets (RFC 7587, RFC 6716) are decoded one by one; a gap in
// sequence numbers is filled with the FEC in the next packet and packet-loss concealment.
//
// Sending: the local mediadevices tracks are bound through AddTrack; mediadevices reads the
// RTCP for each sender and forces a keyframe from media/vp8's encoder on PLI or FIR.
//
// Media is always DTLS-SRTP (pion's default, RFC 5764); there is no way to turn it off.
//
// [Call.Stats] snapshots the counters (frames, packets, loss, bytes, RTT from RTCP reports,
// the time of the first decoded frame for join latency), and [Metrics] exports them to a
// Prometheus registry a daemon passes in.
//
// Goroutines: a Call starts one monitor goroutine and one receive goroutine per remote track;
// Close waits for all of them, after closing the peer connection. Callbacks (OnCandidate,
// OnVideoFrame, OnAudio) run on those goroutines or pion's and must return quickly.
package call
