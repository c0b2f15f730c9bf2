package call

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"
)

// testMTU makes small packets, so a frame of a few hundred bytes spans several.
const testMTU = 100

// sentFrame is one VP8 frame as the sender packetized it.
type sentFrame struct {
	ts   uint32
	data []byte
	pkts []*rtp.Packet
}

// makeFrames packetizes frames of the given sizes as pion's VP8 payloader does, sequence
// numbers from seq0, 30 fps timestamps.
func makeFrames(seq0 uint16, sizes []int) []sentFrame {
	return makeFramesAt(seq0, 90000, sizes)
}

func makeFramesAt(seq0 uint16, ts0 uint32, sizes []int) []sentFrame {
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	seq := seq0
	frames := make([]sentFrame, len(sizes))
	for i, n := range sizes {
		f := sentFrame{ts: ts0 + uint32(i)*3000, data: make([]byte, n)}
		for j := range f.data {
			f.data[j] = byte(i*31 + j)
		}
		payloads := pay.Payload(testMTU, f.data)
		for j, p := range payloads {
			f.pkts = append(f.pkts, &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: f.ts, Marker: j == len(payloads)-1},
				Payload: p,
			})
			seq++
		}
		frames[i] = f
	}
	return frames
}

// sizes returns n frame sizes of packets packets each (a 4-byte VP8 payload descriptor,
// with the 15-bit picture ID).
func sizes(n, packets int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = packets * (testMTU - 4)
	}
	return s
}

// released is one frame the assembler handed on.
type released struct {
	ts      uint32
	data    []byte
	dropped uint16
}

// harness pushes packets through an assembler on a fake clock, 1 ms a packet, and records
// what comes out.
type harness struct {
	a   *frameAssembler
	now time.Time
	got []released
}

func newHarness() *harness {
	return &harness{a: newFrameAssembler(), now: time.Unix(1000, 0)}
}

func (h *harness) emit(s *media.Sample) {
	h.got = append(h.got, released{s.PacketTimestamp, bytes.Clone(s.Data), s.PrevDroppedPackets})
}

func (h *harness) push(p *rtp.Packet) {
	h.now = h.now.Add(time.Millisecond)
	// The receive loop reuses its packet and buffer: so must the assembler be able to.
	q := *p
	q.Payload = bytes.Clone(p.Payload)
	h.a.push(&q, h.now, h.emit)
	clear(q.Payload)
	h.checkInvariants()
}

func (h *harness) checkInvariants() {
	a := h.a
	if span := a.end - a.next; span > ringSize {
		panic(fmt.Sprintf("held span: got %d packets, want at most %d", span, ringSize))
	}
	full := 0
	for i := range a.ring {
		if s := &a.ring[i]; s.full {
			full++
			if s.seq-a.next >= a.end-a.next {
				panic(fmt.Sprintf("slot holds %d outside [%d, %d)", s.seq, a.next, a.end))
			}
		}
	}
	if a.next != a.end && a.held(a.end-1) == nil {
		panic(fmt.Sprintf("end-1 = %d not held", a.end-1))
	}
}

// sameFrame reports how r differs from f, or "".
func sameFrame(r released, f sentFrame) string {
	if r.ts != f.ts {
		return fmt.Sprintf("timestamp %d, want %d", r.ts, f.ts)
	}
	if !bytes.Equal(r.data, f.data) {
		return fmt.Sprintf("%d bytes %x..., want %d bytes %x...", len(r.data), head(r.data), len(f.data), head(f.data))
	}
	return ""
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }

// A frame leaves the assembler with its marker packet: no waiting for the next frame (pion's
// samplebuilder held each one until the next frame's first packet arrived).
func TestAssemblerReleasesOnMarker(t *testing.T) {
	tests := []struct {
		name  string
		seq0  uint16
		sizes []int
	}{
		{"one packet a frame", 100, sizes(5, 1)},
		{"three packets a frame", 100, sizes(5, 3)},
		{"mixed sizes", 7, []int{1200, 1, 50, 97, 98, 400, 3}},
		{"across wrap-around", 65530, sizes(6, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			frames := makeFrames(tt.seq0, tt.sizes)
			for i, f := range frames {
				for j, p := range f.pkts {
					h.push(p)
					want := i
					if j == len(f.pkts)-1 {
						want = i + 1
					}
					if len(h.got) != want {
						t.Fatalf("after packet %d of frame %d: got %d frames released, want %d", j, i, len(h.got), want)
					}
				}
				if d := sameFrame(h.got[i], f); d != "" {
					t.Errorf("frame %d: got %s", i, d)
				}
				if h.got[i].dropped != 0 {
					t.Errorf("frame %d: got %d dropped packets before it, want 0", i, h.got[i].dropped)
				}
			}
		})
	}
}

// deliver pushes the packets named by order (indexes into the frames' packets in sequence
// order, repeats allowed) and checks after each push that exactly the frames whose packets,
// and all earlier frames' packets, have arrived were released, whole, in order, none flagged.
func deliver(t *testing.T, frames []sentFrame, order []int) {
	t.Helper()
	var pkts []*rtp.Packet
	var frameOf []int
	for i, f := range frames {
		for _, p := range f.pkts {
			pkts = append(pkts, p)
			frameOf = append(frameOf, i)
		}
	}
	missing := make([]int, len(frames))
	for _, f := range frameOf {
		missing[f]++
	}
	seen := make([]bool, len(pkts))
	h := newHarness()
	complete := 0
	for n, k := range order {
		if !seen[k] {
			seen[k] = true
			missing[frameOf[k]]--
		}
		for complete < len(frames) && missing[complete] == 0 {
			complete++
		}
		h.push(pkts[k])
		if len(h.got) != complete {
			t.Fatalf("after push %d (packet %d of frame %d): got %d frames released, want %d",
				n, k, frameOf[k], len(h.got), complete)
		}
	}
	for i, r := range h.got {
		if d := sameFrame(r, frames[i]); d != "" {
			t.Errorf("frame %d: got %s", i, d)
		}
		if r.dropped != 0 {
			t.Errorf("frame %d: got %d dropped packets before it, want 0", i, r.dropped)
		}
	}
	if complete != len(frames) {
		t.Errorf("frames complete at the end: got %d, want %d (bad test order)", complete, len(frames))
	}
}

func seqs(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func cat(parts ...[]int) []int {
	var s []int
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

// Packets out of order, late (a NACKed packet retransmitted frames later) or twice: every
// frame is released once, whole and in order, as soon as it and those before it are in.
func TestAssemblerReorder(t *testing.T) {
	tests := []struct {
		name   string
		frames []sentFrame
		order  []int
	}{
		{"in order", makeFrames(1, sizes(4, 3)), seqs(0, 12)},
		{"within a frame", makeFrames(1, sizes(3, 4)), cat([]int{0, 2, 1, 3}, []int{7, 6, 5, 4}, []int{8, 11, 9, 10})},
		{"head last", makeFrames(1, sizes(3, 3)), cat([]int{0, 1, 2}, []int{4, 5, 3}, seqs(6, 9))},
		{"across frames", makeFrames(1, sizes(4, 2)), []int{0, 2, 3, 4, 1, 6, 7, 5}},
		{"a later frame complete first", makeFrames(1, sizes(3, 3)), cat([]int{0, 1}, seqs(3, 9), []int{2})},
		{"retransmitted three frames later", makeFrames(1, sizes(6, 3)), cat(seqs(0, 4), seqs(5, 15), []int{4}, seqs(15, 18))},
		{"marker retransmitted", makeFrames(1, sizes(4, 3)), cat(seqs(0, 5), seqs(6, 12), []int{5})},
		{"whole frame late", makeFrames(1, sizes(4, 2)), cat(seqs(0, 2), seqs(4, 8), seqs(2, 4))},
		{"first packets reordered", makeFrames(1, sizes(3, 3)), cat([]int{1, 0, 2}, seqs(3, 9))},
		{"every packet twice", makeFrames(1, sizes(3, 3)), []int{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8}},
		{"retransmission and original both arrive", makeFrames(1, sizes(4, 2)), cat(seqs(0, 3), seqs(4, 8), []int{3, 3})},
		{"duplicates of released frames", makeFrames(1, sizes(4, 2)), cat(seqs(0, 6), seqs(0, 6), seqs(6, 8), []int{1})},
		{"wrap-around in order", makeFrames(65531, sizes(4, 3)), seqs(0, 12)},
		{"wrap-around reordered", makeFrames(65533, sizes(4, 3)), []int{0, 1, 3, 2, 5, 4, 6, 8, 7, 9, 11, 10}},
		{"wrap-around with a late packet", makeFrames(65530, sizes(5, 3)), cat(seqs(0, 5), seqs(6, 13), []int{5}, seqs(13, 15))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { deliver(t, tt.frames, tt.order) })
	}
}

// A packet that never comes costs its frame and no more: the frames after it wait for it
// (maxLatePackets, maxLateDelay), then go out in order, the first of them flagged, so that
// the receiver freezes until a keyframe rather than decode against a missing reference.
func TestAssemblerLoss(t *testing.T) {
	tests := []struct {
		name      string
		packets   int   // per frame
		frames    int   // sent
		lose      []int // packet indexes, in sequence order, never delivered
		lateFrame int   // frame pushed maxLateDelay later; -1 for none
		lost      []int // frames never released
	}{
		{"middle packet, by time", 3, 5, []int{4}, 4, []int{1}},
		{"head packet, by time", 3, 5, []int{3}, 4, []int{1}},
		{"marker packet, by time", 3, 5, []int{5}, 4, []int{1}},
		{"whole frame, by time", 3, 5, []int{3, 4, 5}, 4, []int{1}},
		{"two frames, by time", 3, 6, []int{4, 9}, 5, []int{1, 3}},
		{"middle packet, by packets", 10, 20, []int{14}, -1, []int{1}},
		{"marker packet, by packets", 10, 20, []int{19}, -1, []int{1}},
		{"head packet, by packets", 10, 20, []int{10}, -1, []int{1}},
		{"first frame's head", 3, 5, []int{0}, 4, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames := makeFrames(500, sizes(tt.frames, tt.packets))
			h := newHarness()
			lose := map[int]bool{}
			for _, k := range tt.lose {
				lose[k] = true
			}
			k := 0
			for i, f := range frames {
				if i == tt.lateFrame {
					h.now = h.now.Add(maxLateDelay)
				}
				for _, p := range f.pkts {
					if !lose[k] {
						h.push(p)
					}
					k++
				}
			}
			lost := map[int]bool{}
			for _, i := range tt.lost {
				lost[i] = true
			}
			var want []int
			for i := range frames {
				if !lost[i] {
					want = append(want, i)
				}
			}
			if len(h.got) != len(want) {
				t.Fatalf("got %d frames released, want %d (all but %v)", len(h.got), len(want), tt.lost)
			}
			for n, i := range want {
				r := h.got[n]
				if d := sameFrame(r, frames[i]); d != "" {
					t.Errorf("release %d: got %s (frame %d)", n, d, i)
				}
				afterLoss := lost[i-1] || (i > 0 && n == 0)
				if afterLoss && r.dropped == 0 {
					t.Errorf("frame %d, after a lost one: got no dropped packets before it, want some", i)
				}
				if !afterLoss && r.dropped != 0 {
					t.Errorf("frame %d: got %d dropped packets before it, want 0", i, r.dropped)
				}
			}
		})
	}
}

// Padding packets (no payload, sent to probe bandwidth) take sequence numbers but belong
// to no frame: they neither delay nor break frames.
func TestAssemblerPadding(t *testing.T) {
	frames := makeFrames(0, sizes(4, 2))
	// Renumber with a padding packet after every frame, and one inside the last.
	var order []*rtp.Packet
	seq := uint16(65000)
	add := func(p *rtp.Packet) {
		q := *p
		q.SequenceNumber = seq
		seq++
		order = append(order, &q)
	}
	padding := func(ts uint32) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{Version: 2, Timestamp: ts, Padding: true, PaddingSize: 200}}
	}
	for i, f := range frames {
		for j, p := range f.pkts {
			if i == 3 && j == 1 {
				add(padding(f.ts))
			}
			add(p)
		}
		add(padding(f.ts))
		add(padding(f.ts))
	}
	tests := []struct {
		name  string
		order []int
	}{
		{"in order", seqs(0, len(order))},
		{"padding late", cat([]int{0, 1}, []int{4, 5, 6, 2}, seqs(7, len(order)), []int{3})},
		{"padding twice", cat(seqs(0, 4), seqs(2, 4), seqs(4, len(order)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			for _, k := range tt.order {
				h.push(order[k])
			}
			h.wantAllWhole(t, frames)
		})
	}
}

// A packet whose VP8 payload descriptor cannot be read counts as not received: its
// frame waits for a retransmission, first packet of the stream or not.
func TestAssemblerUnreadable(t *testing.T) {
	frames := makeFrames(10, sizes(3, 2))
	broken := func(p *rtp.Packet) *rtp.Packet {
		q := *p
		q.Payload = []byte{0x80} // X set, extension byte missing
		return &q
	}
	tests := []struct {
		name  string
		order []*rtp.Packet
	}{
		{"first packet", []*rtp.Packet{broken(frames[0].pkts[0]), frames[0].pkts[0], frames[0].pkts[1],
			frames[1].pkts[0], frames[1].pkts[1], frames[2].pkts[0], frames[2].pkts[1]}},
		{"first packet, retransmitted late", []*rtp.Packet{broken(frames[0].pkts[0]), frames[0].pkts[1],
			frames[1].pkts[0], frames[1].pkts[1], frames[0].pkts[0], frames[2].pkts[0], frames[2].pkts[1]}},
		{"second packet, first to arrive", []*rtp.Packet{broken(frames[0].pkts[1]), frames[0].pkts[0], frames[0].pkts[1],
			frames[1].pkts[0], frames[1].pkts[1], frames[2].pkts[0], frames[2].pkts[1]}},
		{"marker packet", []*rtp.Packet{frames[0].pkts[0], frames[0].pkts[1], frames[1].pkts[0],
			broken(frames[1].pkts[1]), frames[2].pkts[0], frames[2].pkts[1], frames[1].pkts[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			for _, p := range tt.order {
				h.push(p)
			}
			h.wantAllWhole(t, frames)
		})
	}
}

// A sender that starts its sequence numbers again elsewhere (forwards, or backwards by any
// amount) costs at most a few frames: frames come again, the first flagged.
func TestAssemblerSequenceJump(t *testing.T) {
	tests := []struct {
		name string
		jump int
	}{
		{"forwards far", 20000},
		{"forwards past the ring", ringSize + 10},
		{"backwards far", -20000},
		{"backwards near", -300},
		{"backwards to the frames just released", -3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := makeFrames(1000, sizes(3, 3))
			after := makeFramesAt(uint16(1000+tt.jump), 1<<20, sizes(60, 3))
			h := newHarness()
			for _, f := range before {
				for _, p := range f.pkts {
					h.push(p)
				}
			}
			n := len(h.got)
			for _, f := range after {
				for _, p := range f.pkts {
					h.push(p)
				}
			}
			got := h.got[n:]
			if len(got) == 0 {
				t.Fatalf("got no frames after the jump, want some")
			}
			if got[0].dropped == 0 {
				t.Errorf("first frame after the jump: got no dropped packets before it, want some")
			}
			first := -1
			for i, f := range after {
				if f.ts == got[0].ts {
					first = i
				}
			}
			if first < 0 || len(got) != len(after)-first {
				t.Fatalf("got %d frames after the jump from timestamp %d, want every frame from the first", len(got), got[0].ts)
			}
			for i, r := range got {
				if d := sameFrame(r, after[first+i]); d != "" {
					t.Errorf("frame %d after the jump: got %s", first+i, d)
				}
			}
			t.Logf("frames lost to the jump: %d", first)
		})
	}
}

// shuffle returns the packet order for a randomized delivery of n packets: each packet is
// delayed by up to maxDelay places, some are duplicated (a retransmission racing its
// original), and with loss some are never delivered.
func shuffle(r *rand.Rand, n, maxDelay int, loss, dup float64) (order []int, lostPkts map[int]bool) {
	type item struct{ k, at int }
	var items []item
	lostPkts = map[int]bool{}
	for k := 0; k < n; k++ {
		if k > 0 && r.Float64() < loss {
			lostPkts[k] = true
			continue
		}
		at := k
		if k > 0 {
			at += r.Intn(maxDelay + 1)
		}
		items = append(items, item{k, at})
		if r.Float64() < dup {
			items = append(items, item{k, k + r.Intn(3*maxDelay+1)})
		}
	}
	// Stable: the first packet stays first.
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].at < items[j-1].at; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	for _, it := range items {
		order = append(order, it.k)
	}
	return order, lostPkts
}

// Randomized delivery of a known frame sequence: every frame released is byte for byte one
// that was sent, in order, and one comes flagged exactly when a frame before it was lost.
// Without loss, each frame is released the moment it and all before it are in.
func TestAssemblerRandomized(t *testing.T) {
	runs := 300
	if testing.Short() {
		runs = 30
	}
	for run := 0; run < runs; run++ {
		r := rand.New(rand.NewSource(int64(run)))
		sz := make([]int, 40)
		for i := range sz {
			sz[i] = 1 + r.Intn(8*(testMTU-4))
		}
		frames := makeFrames(uint16(r.Intn(1<<16)), sz)
		npkts := 0
		for _, f := range frames {
			npkts += len(f.pkts)
		}
		maxDelay := 1 + r.Intn(40)
		dup := r.Float64() * 0.2

		// Without loss: exact timing of every release.
		order, _ := shuffle(r, npkts, maxDelay, 0, dup)
		t.Run(fmt.Sprintf("run %d without loss", run), func(t *testing.T) { deliver(t, frames, order) })

		// With loss: what comes out is consistent.
		order, lostPkts := shuffle(r, npkts, maxDelay, r.Float64()*0.1, dup)
		t.Run(fmt.Sprintf("run %d with loss", run), func(t *testing.T) {
			var pkts []*rtp.Packet
			for _, f := range frames {
				pkts = append(pkts, f.pkts...)
			}
			h := newHarness()
			for _, k := range order {
				h.push(pkts[k])
			}
			// Flush what waits behind a gap, as the next packets would after maxLateDelay.
			h.now = h.now.Add(2 * maxLateDelay)
			h.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: frames[len(frames)-1].pkts[0].SequenceNumber + 100}})
			index := map[uint32]int{}
			for i, f := range frames {
				index[f.ts] = i
			}
			prev := -1
			for n, rel := range h.got {
				i, ok := index[rel.ts]
				if !ok {
					t.Fatalf("release %d: got timestamp %d, want one sent", n, rel.ts)
				}
				if d := sameFrame(rel, frames[i]); d != "" {
					t.Errorf("release %d (frame %d): got %s", n, i, d)
				}
				if i <= prev {
					t.Errorf("release %d: got frame %d after frame %d, want frames in order", n, i, prev)
				}
				if skipped := i > prev+1; skipped != (rel.dropped > 0) {
					t.Errorf("release %d: got frame %d after frame %d with %d dropped packets flagged, want flagged %v",
						n, i, prev, rel.dropped, skipped)
				}
				prev = i
			}
			// Every frame all of whose packets were delivered and none of the frames before
			// lost a packet must have come out.
			k := 0
			for i, f := range frames {
				whole := true
				for range f.pkts {
					whole = whole && !lostPkts[k]
					k++
				}
				if !whole {
					break
				}
				if i >= len(h.got) {
					t.Errorf("frame %d: got %d frames released, want at least every frame before the first loss", i, len(h.got))
					break
				}
			}
		})
	}
}

// Whatever arrives, the assembler neither panics nor holds more than its ring.
func TestAssemblerGarbage(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	h := newHarness()
	seq := uint16(0)
	for n := 0; n < 50000; n++ {
		switch r.Intn(10) {
		case 0:
			seq = uint16(r.Intn(1 << 16))
		case 1, 2:
			seq -= uint16(r.Intn(600))
		default:
			seq += uint16(r.Intn(3))
		}
		payload := make([]byte, r.Intn(40))
		r.Read(payload)
		h.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(r.Intn(4)), Marker: r.Intn(3) == 0}, Payload: payload})
		if n%1000 == 0 {
			h.got = h.got[:0]
		}
		if r.Intn(500) == 0 {
			h.now = h.now.Add(time.Second)
		}
	}
}

// In a steady stream the assembler reuses its buffers: nothing allocated per frame.
func TestAssemblerAllocs(t *testing.T) {
	frames := makeFrames(0, sizes(64, 4))
	a := newFrameAssembler()
	now := time.Unix(0, 0)
	var got int
	emit := func(*media.Sample) { got++ }
	var pkt rtp.Packet
	push := func(round int) {
		for _, f := range frames {
			for _, p := range f.pkts {
				pkt = *p
				pkt.SequenceNumber += uint16(round * 256)
				pkt.Timestamp += uint32(round * 64 * 3000)
				now = now.Add(time.Millisecond)
				a.push(&pkt, now, emit)
			}
		}
	}
	push(0) // grow the buffers
	round := 1
	allocs := testing.AllocsPerRun(5, func() { push(round); round++ })
	if allocs != 0 {
		t.Errorf("allocations per %d frames: got %v, want 0", len(frames), allocs)
	}
	if want := 64 * (round); got != want {
		t.Errorf("frames released: got %d, want %d", got, want)
	}
}

// BenchmarkFrameAssembler reports the cost of reassembling a 1280x720 frame of ten packets.
func BenchmarkFrameAssembler(b *testing.B) {
	frames := makeFrames(0, sizes(256, 10))
	a := newFrameAssembler()
	now := time.Unix(0, 0)
	emit := func(*media.Sample) {}
	var pkt rtp.Packet
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := frames[i%len(frames)]
		for _, p := range f.pkts {
			pkt = *p
			pkt.SequenceNumber += uint16(i / len(frames) * 2560)
			pkt.Timestamp += uint32(i / len(frames) * 256 * 3000)
			now = now.Add(time.Millisecond)
			a.push(&pkt, now, emit)
		}
	}
}

// wantAllWhole checks that every frame was released, in order, whole, none flagged lost.
func (h *harness) wantAllWhole(t *testing.T, frames []sentFrame) {
	t.Helper()
	if len(h.got) != len(frames) {
		t.Fatalf("got %d frames released, want %d", len(h.got), len(frames))
	}
	for i, r := range h.got {
		if d := sameFrame(r, frames[i]); d != "" {
			t.Errorf("frame %d: got %s", i, d)
		}
		if r.dropped != 0 {
			t.Errorf("frame %d: got %d dropped packets before it, want 0", i, r.dropped)
		}
	}
}
