package call

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// Stats is a snapshot of a call's counters. Counts are totals since the call started.
type Stats struct {
	At           time.Time // when the snapshot was taken
	StartedAt    time.Time // NewCall
	ConnectedAt  time.Time // zero until connected
	FirstFrameAt time.Time // first decoded remote video frame; zero until then

	FramesSent            uint64 // local video frames handed to the network
	FramesDecoded         uint64
	AudioPacketsDecoded   uint64 // decoded here, or handed undecoded to OnAudioPacket
	AudioPacketsConcealed uint64 // by PLC or FEC
	VideoPacketsReceived  uint64
	KeyFramesRequested    uint64        // PLIs sent
	PacketsLost           int64         // remote to us, from sequence gaps (RFC 3550 A.3)
	BytesSent             uint64        // RTP payload
	BytesReceived         uint64        // RTP payload
	RTT                   time.Duration // from our sender reports and their receiver reports; zero until measured
	Jitter                time.Duration // of the remote video stream, RFC 3550 6.4.1
	// EstimateBitrate is the send-side bandwidth estimate (GCC) and VideoBitrate the video
	// encoder's rate it gave, bits per second; zero until the first look.
	EstimateBitrate, VideoBitrate int
}

// JoinLatency is the time from NewCall to the first decoded frame, zero until then.
func (s Stats) JoinLatency() time.Duration {
	if s.FirstFrameAt.IsZero() {
		return 0
	}
	return s.FirstFrameAt.Sub(s.StartedAt)
}

// Stats returns the call's counters now. It is cheap enough to call every second.
func (c *Call) Stats() Stats {
	c.mu.Lock()
	s := Stats{
		At:           c.clock.Now(),
		StartedAt:    c.startedAt,
		ConnectedAt:  c.connectedAt,
		FirstFrameAt: c.firstFrameAt,

		EstimateBitrate: int(c.rate.target.Load()),
		VideoBitrate:    int(c.rate.video.Load()),
	}
	video := append([]*videoReceiver(nil), c.video...)
	audio := append([]*audioReceiver(nil), c.audio...)
	c.mu.Unlock()

	s.FramesSent = c.framesSent.load()
	for _, vr := range video {
		s.FramesDecoded += vr.frames.load()
		s.VideoPacketsReceived += vr.packets.load()
		s.KeyFramesRequested += vr.plis.load()
	}
	for _, ar := range audio {
		s.AudioPacketsDecoded += ar.decoded.load()
		s.AudioPacketsConcealed += ar.concealed.load()
	}
	if c.statsGetter == nil {
		return s
	}
	for i, vr := range video {
		if st := c.statsGetter.Get(vr.ssrc); st != nil {
			s.BytesReceived += st.InboundRTPStreamStats.BytesReceived
			s.PacketsLost += st.InboundRTPStreamStats.PacketsLost
			if i == 0 {
				s.Jitter = time.Duration(st.InboundRTPStreamStats.Jitter / 90000 * float64(time.Second))
			}
		}
	}
	for _, ar := range audio {
		if st := c.statsGetter.Get(ar.ssrc); st != nil {
			s.BytesReceived += st.InboundRTPStreamStats.BytesReceived
			s.PacketsLost += st.InboundRTPStreamStats.PacketsLost
		}
	}
	for _, sender := range c.pc.GetSenders() {
		if sender.Track() == nil {
			continue
		}
		for _, enc := range sender.GetParameters().Encodings {
			st := c.statsGetter.Get(uint32(enc.SSRC))
			if st == nil {
				continue
			}
			s.BytesSent += st.OutboundRTPStreamStats.BytesSent
			rtt := st.RemoteInboundRTPStreamStats.RoundTripTime
			if rtt > 0 && (s.RTT == 0 || sender.Track().Kind() == webrtc.RTPCodecTypeVideo) {
				s.RTT = rtt
			}
		}
	}
	return s
}
