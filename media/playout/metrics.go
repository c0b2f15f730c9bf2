package playout

import "github.com/prometheus/client_golang/prometheus"

// Collector returns a Prometheus collector of the playout's Stats, read at each scrape:
// packets by what became of them, frames by how they were made, underruns, the delay and
// its target, the volume. Register it on the daemon's registry.
func (p *Playout) Collector() prometheus.Collector { return &collector{p: p} }

type collector struct{ p *Playout }

var (
	descPackets = prometheus.NewDesc("carebooth_speaker_packets_total",
		"Remote audio packets handed to the speaker, by what became of them.", []string{"result"}, nil)
	descFrames = prometheus.NewDesc("carebooth_speaker_frames_total",
		"Audio frames (one packet's worth) played, by how they were made.", []string{"kind"}, nil)
	descStretches = prometheus.NewDesc("carebooth_speaker_stretches_total",
		"Times play was shortened or lengthened to steer the delay to its target.", []string{"direction"}, nil)
	descUnderruns = prometheus.NewDesc("carebooth_speaker_underruns_total",
		"Times the speaker's buffer ran dry and faded out to rebuffer.", nil, nil)
	descStreams = prometheus.NewDesc("carebooth_speaker_streams_total",
		"Remote audio streams (calls) started after the first.", nil, nil)
	descTarget = prometheus.NewDesc("carebooth_speaker_target_delay_seconds",
		"The jitter buffer's target delay, from the jitter measured.", nil, nil)
	descDelay = prometheus.NewDesc("carebooth_speaker_delay_seconds",
		"The jitter buffer's delay now (zero when not playing).", nil, nil)
	descVolume = prometheus.NewDesc("carebooth_speaker_volume",
		"Speaker volume, 0 (silent) to 1 (full).", nil, nil)
	descMuted = prometheus.NewDesc("carebooth_speaker_muted",
		"1 when the call's sound is muted.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPackets, descFrames, descStretches, descUnderruns, descStreams,
		descTarget, descDelay, descVolume, descMuted} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.p.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(descPackets, s.Packets-s.Late-s.Duplicates, "accepted")
	counter(descPackets, s.Late, "late")
	counter(descPackets, s.Duplicates, "duplicate")
	counter(descFrames, s.Decoded, "decoded")
	counter(descFrames, s.FEC, "fec")
	counter(descFrames, s.Concealed, "concealed")
	counter(descStretches, s.Dropped, "shorter")
	counter(descStretches, s.Inserted, "longer")
	counter(descUnderruns, s.Underruns)
	counter(descStreams, s.Restarts)
	gauge(descTarget, s.TargetDelay.Seconds())
	gauge(descDelay, s.Delay.Seconds())
	vol, muted := c.p.Volume(), 0.0
	if c.p.Muted() {
		muted = 1
	}
	gauge(descVolume, vol)
	gauge(descMuted, muted)
}
