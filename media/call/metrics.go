package call

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports call figures to Prometheus. A daemon calls Update with a call's Stats every
// few seconds and once more after Close; Metrics turns the totals into counter increments,
// so calls one after another add up. It follows one call at a time (a booth has one).
type Metrics struct {
	framesSent     prometheus.Counter
	framesDecoded  prometheus.Counter
	audioDecoded   prometheus.Counter
	audioConcealed prometheus.Counter
	packetsLost    prometheus.Counter
	keyFrames      prometheus.Counter
	bitrate        *prometheus.GaugeVec
	rtt            prometheus.Gauge
	join           prometheus.Histogram

	mu     sync.Mutex // guards last and joined
	last   Stats
	joined bool
}

// NewMetrics registers the collectors on reg (never the global default registry).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns, sub = "carebooth", "call"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	m := &Metrics{
		framesSent:     counter("video_frames_sent_total", "Video frames sent."),
		framesDecoded:  counter("video_frames_decoded_total", "Remote video frames decoded."),
		audioDecoded:   counter("audio_packets_decoded_total", "Remote audio packets decoded."),
		audioConcealed: counter("audio_packets_concealed_total", "Lost audio packets concealed or rebuilt from FEC."),
		packetsLost:    counter("packets_lost_total", "Remote RTP packets lost, by sequence gaps."),
		keyFrames:      counter("keyframes_requested_total", "Picture loss indications sent."),
		bitrate: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "bitrate_bits_per_second", Help: "RTP payload bitrate between the last two updates (send, receive), the send-side bandwidth estimate (estimate) and the video encoder's rate it gave (video_target)."},
			[]string{"direction"}),
		rtt: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "rtt_seconds", Help: "Round-trip time from RTCP reports."}),
		join: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "join_seconds", Help: "Time from creating a call to its first decoded video frame.",
			Buckets: []float64{0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13}}),
	}
	for _, c := range []prometheus.Collector{m.framesSent, m.framesDecoded, m.audioDecoded,
		m.audioConcealed, m.packetsLost, m.keyFrames, m.bitrate, m.rtt, m.join} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register call metrics: %w", err)
		}
	}
	return m, nil
}

// Update folds in a call's latest Stats. Stats of a new call (another StartedAt) start from
// zero.
func (m *Metrics) Update(s Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.last
	if !prev.StartedAt.Equal(s.StartedAt) {
		prev = Stats{StartedAt: s.StartedAt}
		m.joined = false
	}
	addU := func(c prometheus.Counter, now, before uint64) {
		if now > before {
			c.Add(float64(now - before))
		}
	}
	addU(m.framesSent, s.FramesSent, prev.FramesSent)
	addU(m.framesDecoded, s.FramesDecoded, prev.FramesDecoded)
	addU(m.audioDecoded, s.AudioPacketsDecoded, prev.AudioPacketsDecoded)
	addU(m.audioConcealed, s.AudioPacketsConcealed, prev.AudioPacketsConcealed)
	addU(m.keyFrames, s.KeyFramesRequested, prev.KeyFramesRequested)
	if s.PacketsLost > prev.PacketsLost {
		m.packetsLost.Add(float64(s.PacketsLost - prev.PacketsLost))
	}
	if !prev.At.IsZero() {
		if d := s.At.Sub(prev.At).Seconds(); d > 0 {
			m.bitrate.WithLabelValues("send").Set(float64(s.BytesSent-min(prev.BytesSent, s.BytesSent)) * 8 / d)
			m.bitrate.WithLabelValues("receive").Set(float64(s.BytesReceived-min(prev.BytesReceived, s.BytesReceived)) * 8 / d)
		}
	}
	if s.EstimateBitrate > 0 {
		// The send-side bandwidth estimate, and the video encoder's rate it gave.
		m.bitrate.WithLabelValues("estimate").Set(float64(s.EstimateBitrate))
		m.bitrate.WithLabelValues("video_target").Set(float64(s.VideoBitrate))
	}
	m.rtt.Set(s.RTT.Seconds())
	if !m.joined && !s.FirstFrameAt.IsZero() {
		m.join.Observe(s.JoinLatency().Seconds())
		m.joined = true
	}
	m.last = s
}
