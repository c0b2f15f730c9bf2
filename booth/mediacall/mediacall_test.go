package mediacall

import (
	"testing"
	"time"

	"github.com/carebooth/carebooth/media/call"
	"github.com/carebooth/carebooth/media/capture"
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestAnswersARealOffer runs the booth's side of a call against a receive-only pion
// offerer over loopback and checks that frames flow and the stats say so.
func TestAnswersARealOffer(t *testing.T) {
	engine := loopbackEngine(t)
	reg := prometheus.NewRegistry()
	m, err := call.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	caller, err := New(engine, Config{Metrics: m, Capture: capture.Config{Video: capture.SourceTest, Audio: capture.SourceTest, Width: 320, Height: 240, FPS: 15}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ac, _ := answerClinician(t, engine, caller, call.Options{})

	select {
	case <-ac.Connected():
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not connect")
	}
	deadline := time.Now().Add(20 * time.Second)
	for ac.Stats().FramesSent < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("stats: got %+v, want frames sent", ac.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := ac.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	select {
	case <-ac.Done():
	case <-time.After(5 * time.Second):
		t.Error("Done not closed after Close")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sent float64
	for _, f := range families {
		if f.GetName() == "carebooth_call_video_frames_sent_total" {
			sent = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if sent < 5 {
		t.Errorf("carebooth_call_video_frames_sent_total: got %v, want at least 5", sent)
	}
}
