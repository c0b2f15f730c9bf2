package playout

import (
	"testing"
)

const ms = sampleRate / 1000 // samples per millisecond

func newTestJB() *jitterBuffer { return newJitterBuffer(40*ms, 200*ms) }

// playSeqs plays every buffered slot and returns what each slot was: the sequence number
// for a packet, -1 for FEC, -2 for a gap, and stops at the first empty slot.
func playSeqs(jb *jitterBuffer) []int64 {
	var out []int64
	if !jb.playing {
		jb.start()
	}
	for {
		kind, _ := jb.peek()
		switch kind {
		case slotEmpty:
			return out
		case slotPacket:
			out = append(out, jb.next)
		case slotFEC:
			out = append(out, -1)
		case slotGap:
			out = append(out, -2)
		}
		jb.advance(frameLen)
	}
}

func TestJitterBufferOrder(t *testing.T) {
	for _, tt := range []struct {
		name  string
		seqs  []uint16
		first uint16
		want  []int64 // relative to first; -1 FEC, -2 gap
	}{
		{"in order", []uint16{0, 1, 2, 3}, 100, []int64{0, 1, 2, 3}},
		{"reordered", []uint16{1, 0, 3, 2, 4}, 100, []int64{0, 1, 2, 3, 4}},
		{"one lost: FEC from the next", []uint16{0, 2, 3}, 100, []int64{0, -1, 2, 3}},
		{"two lost: conceal, then FEC", []uint16{0, 3, 4}, 100, []int64{0, -2, -1, 3, 4}},
		{"across the wrap", []uint16{0, 2, 1, 3}, 65534, []int64{0, 1, 2, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			jb := newTestJB()
			for i, s := range tt.seqs {
				seq := tt.first + s
				r := jb.push(1, seq, uint32(int(s)*frameLen), []byte{byte(s)}, int64(i*frameLen))
				if r != pushAccepted {
					t.Fatalf("push %d: got %v, want accepted", seq, r)
				}
			}
			got := playSeqs(jb)
			base := unwrapSeq(jb.highSeq, tt.first)
			for i := range got {
				if got[i] >= 0 {
					got[i] -= base
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("played %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("played %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestJitterBufferDuplicatesAndLate(t *testing.T) {
	jb := newTestJB()
	push := func(seq uint16) pushResult {
		return jb.push(7, seq, uint32(seq)*frameLen, []byte{1, 2, 3}, int64(seq)*frameLen)
	}
	for _, s := range []uint16{10, 11, 12} {
		if r := push(s); r != pushAccepted {
			t.Fatalf("push %d: got %v, want accepted", s, r)
		}
	}
	if r := push(11); r != pushDuplicate {
		t.Errorf("push 11 again: got %v, want duplicate", r)
	}
	jb.start()
	jb.advance(frameLen) // 10 played
	jb.advance(frameLen) // 11 played
	if r := push(10); r != pushLate {
		t.Errorf("push 10 after it played: got %v, want late", r)
	}
	if r := push(9); r != pushLate {
		t.Errorf("push 9 after 10 played: got %v, want late", r)
	}
	if got := playSeqs(jb); len(got) != 1 || got[0] != 12 {
		t.Errorf("left to play: got %v, want [12]", got)
	}
	// Ran dry and stopped (an underrun): what was played is still late.
	jb.playing = false
	if r := push(12); r != pushLate {
		t.Errorf("push 12 after it played and play stopped: got %v, want late", r)
	}
	if r := push(13); r != pushAccepted {
		t.Errorf("push 13, the slot play stopped at: got %v, want accepted", r)
	}
	// A new SSRC is a new stream: the buffer starts again.
	if r := jb.push(8, 5000, 0, []byte{1}, 100*frameLen); r != pushRestarted {
		t.Errorf("push from a new SSRC: got %v, want restarted", r)
	}
	if jb.playing || len(jb.pkts) != 1 {
		t.Errorf("after restart: playing %v with %d packets, want stopped with 1", jb.playing, len(jb.pkts))
	}
	// So is a jump of thousands of sequence numbers.
	if r := jb.push(8, 9000, 4000*frameLen, []byte{1}, 101*frameLen); r != pushRestarted {
		t.Errorf("push after a jump of 4000: got %v, want restarted", r)
	}
}

// The target delay follows the jitter: it stays at the minimum on a steady network, grows
// at once to cover late packets, never beyond the maximum, and comes back down slowly.
func TestJitterBufferAdaptation(t *testing.T) {
	jb := newTestJB()
	seq := uint16(0)
	send := func(n int, jitter func(i int) int) {
		for i := 0; i < n; i++ {
			arrival := int64(seq)*frameLen + int64(jitter(i))
			jb.push(1, seq, uint32(seq)*frameLen, []byte{1}, arrival)
			seq++
			// Keep the buffer small, as playing would.
			for len(jb.pkts) > 5 {
				jb.dropOldest()
			}
		}
	}
	steady := func(int) int { return 0 }
	send(200, steady)
	if got := jb.target; got != 40*ms {
		t.Errorf("steady network: target %d ms, want the 40 ms minimum", got/ms)
	}
	// Every fifth packet 60 ms late: the target must cover 60 ms plus a packet.
	send(200, func(i int) int {
		if i%5 == 0 {
			return 60 * ms
		}
		return 0
	})
	if got, want := jb.target, 80*ms; got < want || got > 100*ms {
		t.Errorf("20%% of packets 60 ms late: target %d ms, want %d..100 ms", got/ms, want/ms)
	}
	// Wild jitter: capped at the maximum.
	send(200, func(i int) int { return (i * 7919 % 13) * 40 * ms })
	if got := jb.target; got != 200*ms {
		t.Errorf("jitter up to 480 ms: target %d ms, want the 200 ms maximum", got/ms)
	}
	// Calm again: the target decays, not at once but within the window and the decay.
	send(10, steady)
	if got := jb.target; got < 190*ms {
		t.Errorf("10 packets after the jitter stopped: target %d ms, want it still near 200 ms", got/ms)
	}
	send(1000, steady)
	if got := jb.target; got != 40*ms {
		t.Errorf("20 s after the jitter stopped: target %d ms, want back at the 40 ms minimum", got/ms)
	}
}

func TestHasFEC(t *testing.T) {
	for _, tt := range []struct {
		name string
		loss int
		want bool
	}{{"FEC on", 10, true}, {"FEC off", 0, false}} {
		t.Run(tt.name, func(t *testing.T) {
			pkts := tonePackets(t, 440, 1, tt.loss > 0)
			n := 0
			for _, p := range pkts[5:] { // the first packets have nothing before them to protect
				if hasFEC(p.Payload) {
					n++
				}
			}
			if got := n > len(pkts[5:])/2; got != tt.want {
				t.Errorf("packets with FEC data: got %d of %d, want most: %v", n, len(pkts[5:]), tt.want)
			}
		})
	}
	for _, p := range [][]byte{nil, {0xfc}, {0xfc, 0xff, 0xfe}, {0x03, 0xc1}, {0x0b, 0x81, 0xff}} {
		hasFEC(p) // truncated or odd packets: no panic
	}
}
