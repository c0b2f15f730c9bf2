package call

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[name] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Errorf("NewMetrics twice on one registry: got nil error, want one")
	}
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	call1 := Stats{StartedAt: t0, At: t0.Add(time.Second), FramesDecoded: 10, BytesSent: 1000, PacketsLost: 2}
	m.Update(call1)
	call1.At = t0.Add(2 * time.Second)
	call1.FramesDecoded, call1.BytesSent, call1.PacketsLost = 40, 126_000, 3
	call1.FirstFrameAt = t0.Add(1500 * time.Millisecond)
	call1.RTT = 40 * time.Millisecond
	call1.EstimateBitrate, call1.VideoBitrate = 700_000, 652_000
	m.Update(call1)
	m.Update(call1) // repeated snapshots add nothing
	call2 := Stats{StartedAt: t0.Add(time.Hour), At: t0.Add(time.Hour + time.Second), FramesDecoded: 5}
	m.Update(call2)

	got := gather(t, reg)
	want := map[string]float64{
		"carebooth_call_video_frames_decoded_total":           45,
		"carebooth_call_packets_lost_total":                   3,
		"carebooth_call_bitrate_bits_per_second/send":         1_000_000,
		"carebooth_call_bitrate_bits_per_second/estimate":     700_000,
		"carebooth_call_bitrate_bits_per_second/video_target": 652_000,
		"carebooth_call_rtt_seconds":                          0,
		"carebooth_call_join_seconds":                         1,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %v, want %v", name, got[name], w)
		}
	}
}
