// Package call runs one WebRTC call with pion/webrtc: local tracks out (VP8 from media/vp8,
// Opus from mediadevices, both through media/capture), remote tracks in and decoded (media/vp8,
// media/opus), loss repair and statistics.
//
// An [Engine] is built once per process from an [EngineConfig]: the codecs, the interceptors
// (NACK generator and responder per RFC 4585, sender and receiver reports per RFC 3550,
// transport-wide congestion control feedback, stream statistics) and the network settings
// (loopback candidates for tests, UDP port range, ICE timeouts, a virtual network for tests). [Engine.NewCall] then makes
// one [Call] per consultation. The clinician's side offers and the booth answers, following
// the signalling package's call flow; candidates trickle both ways through
// [Options.OnCandidate] and [Call.AddCandidate], and candidates that arrive before the remote
// description are kept until it is set.
//
// Receiving: VP8 RTP packets (RFC 7741) are reassembled into frames by the call's own
// assembler, which hands each frame to the decoder with its marker packet (pion's sample
// builder held it until the next frame began, a frame interval later) and, for a gap, waits
// a little for the NACKed packet, keeping frames in order. Until the decoder has a
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
// RTT comes from the stats interceptor, which sits first in the chain so it sees the sender
// reports we write and the receiver reports we read; each receiver's RTCP is read (and
// dropped) so that the remote's sender reports reach our receiver-report interceptor.
//
// Goroutines: a Call starts one monitor goroutine and, per remote track, one RTP and one RTCP
// reading goroutine; Close waits for all of them, after closing the peer connection. Before
// closing, Close unbinds the local tracks itself: pion's close stops the senders first, and
// a mediadevices v0.10.0 write goroutine that fails a write at that moment exits without
// answering Unbind, which then blocks forever. Callbacks (OnCandidate,
// OnVideoFrame, OnAudio) run on those goroutines or pion's and must return quickly.
package call
