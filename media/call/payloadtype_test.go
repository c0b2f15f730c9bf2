package call

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/pion/webrtc/v4"
)

// A peer that numbers VP8 120 and Opus 109 (as Firefox does) must receive packets with
// those payload types, not mediadevices' own 96 and 111, or it drops them all.
func TestSendsNegotiatedPayloadTypes(t *testing.T) {
	e := testEngine(t)
	stream := openStream(t)

	m := &webrtc.MediaEngine{}
	for _, c := range []struct {
		kind webrtc.RTPCodecType
		p    webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 120}},
		{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 109}},
	} {
		if err := m.RegisterCodec(c.p, c.kind); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(0)
	peer, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := peer.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan uint8, 64)
	var readers sync.WaitGroup
	peer.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		readers.Add(1)
		defer readers.Done()
		for i := 0; i < 20; i++ {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case got <- p.PayloadType:
			default:
			}
		}
	})

	booth, err := e.NewCall(Options{Role: signalling.CallAnswerer, Tracks: stream.Tracks()})
	if err != nil {
		t.Fatal(err)
	}
	defer booth.Close()
	offer, err := peer.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(peer)
	if err := peer.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	answer, err := booth.Answer(ctx, peer.LocalDescription().SDP)
	if err != nil {
		t.Fatal(err)
	}
	boothGathered := make(chan struct{})
	go func() { // the booth trickles; this peer takes the answer once it is complete
		defer close(boothGathered)
		for booth.pc.ICEGatheringState() != webrtc.ICEGatheringStateComplete {
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	<-boothGathered
	if err := peer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: booth.pc.LocalDescription().SDP}); err != nil {
		t.Fatalf("set answer %q: %v", answer, err)
	}

	seen := map[uint8]bool{}
	deadline := time.After(guard)
	for !(seen[120] && seen[109]) {
		select {
		case pt := <-got:
			if pt != 120 && pt != 109 {
				t.Fatalf("got payload type %d, want the negotiated 120 (VP8) or 109 (Opus)", pt)
			}
			seen[pt] = true
		case <-deadline:
			t.Fatalf("got payload types %v, want 120 and 109", seen)
		}
	}
	peer.Close()
	booth.Close()
	readers.Wait()
}
