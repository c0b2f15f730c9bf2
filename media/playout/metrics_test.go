package playout

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCollector(t *testing.T) {
	pkts := tonePackets(t, 440, 2, true)
	arrivals, lost := network{loss: 0.1, dupes: 0.1}.schedule(pkts, rand.New(rand.NewPCG(11, 12)))
	p, clock := newTestPlayout(t)
	simulate(t, p, clock, arrivals, 2200*time.Millisecond)
	p.Mute(true)
	st := p.Stats()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(p.Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			key := mf.GetName()
			for _, l := range m.Label {
				key += "/" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if got["carebooth_speaker_packets_total/duplicate"] != float64(st.Duplicates) || st.Duplicates == 0 {
		t.Errorf("duplicates: got %v, stats %d, want equal and > 0", got["carebooth_speaker_packets_total/duplicate"], st.Duplicates)
	}
	if fec := got["carebooth_speaker_frames_total/fec"]; fec != float64(st.FEC) || fec == 0 {
		t.Errorf("fec frames: got %v, stats %d, want equal and > 0 with %d lost", fec, st.FEC, lost)
	}
	if len(got) != 14 {
		t.Errorf("got %d series, want 14: %v", len(got), got)
	}
	if got["carebooth_speaker_muted"] != 1 || got["carebooth_speaker_volume"] != 1 {
		t.Errorf("muted %v, volume %v; want 1 and 1", got["carebooth_speaker_muted"], got["carebooth_speaker_volume"])
	}
	if got["carebooth_speaker_target_delay_seconds"] != st.TargetDelay.Seconds() {
		t.Errorf("target delay: got %v, want %v", got["carebooth_speaker_target_delay_seconds"], st.TargetDelay.Seconds())
	}
}
