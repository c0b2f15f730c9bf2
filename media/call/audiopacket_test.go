package call

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/carebooth/carebooth/signalling"
)

// packetLog records what an OnAudioPacket sink was handed.
type packetLog struct {
	mu      sync.Mutex
	n       int
	ssrc    uint32
	seqGaps int // steps other than +1 between consecutive packets
	lastSeq uint16
	empty   int
}

func (l *packetLog) push(p *rtp.Packet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		if p.SequenceNumber != l.lastSeq+1 {
			l.seqGaps++
		}
	}
	if len(p.Payload) == 0 {
		l.empty++
	}
	l.ssrc = p.SSRC
	l.lastSeq = p.SequenceNumber
	l.n++
}

func (l *packetLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// The engine's OnAudioPacket receives the remote Opus packets undecoded, in order, and the
// call counts them; OnAudio is not needed for audio to flow to a jitter buffer.
func TestAudioPacketSink(t *testing.T) {
	stream := openStream(t)
	leaks := checkGoroutines(t)
	var log packetLog
	e, err := NewEngine(EngineConfig{
		Logger:        testLogger(),
		Loopback:      true,
		NetworkTypes:  []webrtc.NetworkType{webrtc.NetworkTypeUDP4},
		DisableMDNS:   true,
		OnAudioPacket: log.push,
	})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	off := newSide(t, e, signalling.CallOfferer, stream.Tracks())
	ans := &side{cands: make(chan signalling.Candidate, 64)}
	ans.call, err = e.NewCall(Options{
		Role:        signalling.CallAnswerer,
		OnCandidate: func(c signalling.Candidate) { ans.cands <- c },
	})
	if err != nil {
		t.Fatalf("NewCall: %v", err)
	}
	stopRelays := handshake(t, off, ans)
	waitFor(t, "100 audio packets at the sink", func() bool { return log.count() >= 100 },
		func() string { return fmt.Sprintf("answerer %+v", ans.call.Stats()) })
	for _, s := range []*side{off, ans} {
		s.call.Close()
	}
	stopRelays()

	log.mu.Lock()
	defer log.mu.Unlock()
	st := ans.call.Stats()
	if st.AudioPacketsDecoded < uint64(log.n) {
		t.Errorf("AudioPacketsDecoded: got %d, want at least the %d packets handed to the sink", st.AudioPacketsDecoded, log.n)
	}
	// Loopback loses nothing, so the sink sees one unbroken run of sequence numbers.
	if log.seqGaps > 0 || log.empty > 0 {
		t.Errorf("sink saw %d sequence gaps and %d empty payloads in %d packets, want 0 and 0", log.seqGaps, log.empty, log.n)
	}
	if log.ssrc == 0 {
		t.Errorf("sink saw SSRC 0, want the remote stream's")
	}
	leaks()
}
