package playout

import (
	"slices"
)

// pushResult says what the jitter buffer did with a packet.
type pushResult int

const (
	pushAccepted  pushResult = iota
	pushDuplicate            // already buffered
	pushLate                 // its slot was played (or concealed) already
	pushRestarted            // a new stream (SSRC) or a jump in sequence: the buffer was reset first
)

// Bounds of the jitter buffer.
const (
	// maxPackets caps what is buffered; beyond it the oldest packet goes. At 20 ms packets
	// that is two seconds, ten times the largest target.
	maxPackets = 100
	// maxSeqJump is a sequence jump treated as a restarted stream rather than loss.
	maxSeqJump = 1000
	// delayWindow is how many packets the delay estimate looks back over: three seconds of
	// 20 ms packets, long enough to see a Wi-Fi burst, short enough to relax after one.
	delayWindow = 150
	// delayQuantile is the share of packets the target delay is sized to have on time.
	delayQuantile = 0.95
	// delayDecay is how fast the target shrinks towards a lower estimate, in samples per
	// packet: 0.25 ms per packet, so 200 ms takes about 16 s to come down to 40 ms. Growth
	// is immediate.
	delayDecay = sampleRate / 4000
)

// packet is one buffered Opus packet, with its sequence number and timestamp extended to
// 64 bits so ordering survives wrap-around.
type packet struct {
	seq     int64
	ts      int64
	payload []byte
}

// jitterBuffer orders packets by sequence number and says what to play next. It is not
// safe for concurrent use; the Playout holds its mutex around every call.
type jitterBuffer struct {
	minDelay, maxDelay int // target bounds, in samples

	started bool
	ssrc    uint32
	highSeq int64 // highest extended sequence number seen
	highTs  int64 // its extended timestamp
	pkts    []packet
	free    [][]byte // payload buffers to reuse

	playing bool  // playing now
	played  bool  // has played since the last reset: next and nextTs are valid
	next    int64 // sequence number of the next slot to play
	nextTs  int64 // timestamp of that slot

	frameLen int // samples per packet, from the decoder; 960 (20 ms) until known

	transits []int64 // ring of arrival minus timestamp, in samples
	tpos     int
	// minTransit is the quickest transit in the window; newestArrival and newestTransit
	// belong to the packet with the highest sequence number.
	minTransit, newestArrival, newestTransit int64
	sorted                                   []int64 // scratch for the quantile
	target                                   int     // samples
}

func newJitterBuffer(minDelay, maxDelay int) *jitterBuffer {
	return &jitterBuffer{
		minDelay: minDelay,
		maxDelay: maxDelay,
		frameLen: sampleRate / 50,
		target:   minDelay,
		pkts:     make([]packet, 0, maxPackets),
		transits: make([]int64, 0, delayWindow),
		sorted:   make([]int64, 0, delayWindow),
	}
}

// reset forgets the stream: packets, position and delay history. The target delay is
// kept, as the network the next stream crosses is most likely the same one.
func (jb *jitterBuffer) reset() {
	for _, p := range jb.pkts {
		jb.free = append(jb.free, p.payload[:0])
	}
	jb.pkts = jb.pkts[:0]
	jb.started = false
	jb.playing, jb.played = false, false
	jb.transits = jb.transits[:0]
	jb.tpos = 0
}

func unwrapSeq(ref int64, s uint16) int64 { return ref + int64(int16(s-uint16(ref))) }
func unwrapTs(ref int64, t uint32) int64  { return ref + int64(int32(t-uint32(ref))) }

// push adds a packet that arrived at arrival (in samples of the playout's clock). The
// payload is copied.
func (jb *jitterBuffer) push(ssrc uint32, seq uint16, ts uint32, payload []byte, arrival int64) pushResult {
	res := pushAccepted
	if !jb.started || ssrc != jb.ssrc {
		if jb.started {
			res = pushRestarted
		}
		jb.reset()
		jb.started, jb.ssrc = true, ssrc
		jb.highSeq, jb.highTs = int64(seq), int64(ts)
	}
	ext := unwrapSeq(jb.highSeq, seq)
	ets := unwrapTs(jb.highTs, ts)
	if d := ext - jb.highSeq; d > maxSeqJump || d < -maxSeqJump {
		jb.reset()
		jb.started, jb.ssrc = true, ssrc
		jb.highSeq, jb.highTs = int64(seq), int64(ts)
		ext, ets = int64(seq), int64(ts)
		res = pushRestarted
	}
	// Every arrival but a duplicate tells about the network, late ones most of all.
	i, found := slices.BinarySearchFunc(jb.pkts, ext, func(p packet, s int64) int {
		switch {
		case p.seq < s:
			return -1
		case p.seq > s:
			return 1
		}
		return 0
	})
	if found {
		return pushDuplicate
	}
	jb.observe(arrival - ets)
	if ext >= jb.highSeq {
		jb.highSeq, jb.highTs = ext, ets
		jb.newestArrival, jb.newestTransit = arrival, arrival-ets
	}
	if jb.played && ext < jb.next {
		return pushLate // also after an underrun: that slot was played or concealed
	}
	if len(jb.pkts) == maxPackets {
		if i == 0 {
			return pushLate // older than everything in a full buffer
		}
		jb.dropOldest()
		i--
	}
	var buf []byte
	if n := len(jb.free); n > 0 {
		buf, jb.free = jb.free[n-1], jb.free[:n-1]
	}
	jb.pkts = slices.Insert(jb.pkts, i, packet{seq: ext, ts: ets, payload: append(buf, payload...)})
	return res
}

// dropOldest removes the oldest packet; if it had not been played yet, play moves past it.
func (jb *jitterBuffer) dropOldest() {
	p := jb.pkts[0]
	jb.free = append(jb.free, p.payload[:0])
	jb.pkts = slices.Delete(jb.pkts, 0, 1)
	if jb.played && p.seq >= jb.next {
		jb.next, jb.nextTs = p.seq+1, p.ts+int64(jb.frameLen)
	}
}

// observe records one transit time (arrival minus RTP timestamp, both in samples; the
// constant offset between the two clocks cancels out) and updates the target delay: the
// delayQuantile of how much later than the quickest packet in the window packets arrive,
// plus one packet for the granularity of playing whole packets, within the bounds.
func (jb *jitterBuffer) observe(transit int64) {
	if len(jb.transits) < delayWindow {
		jb.transits = append(jb.transits, transit)
	} else {
		jb.transits[jb.tpos] = transit
		jb.tpos = (jb.tpos + 1) % delayWindow
	}
	jb.sorted = append(jb.sorted[:0], jb.transits...)
	slices.Sort(jb.sorted)
	jb.minTransit = jb.sorted[0]
	q := jb.sorted[int(delayQuantile*float64(len(jb.sorted)-1))] - jb.minTransit
	est := int(q) + jb.frameLen
	switch {
	case est > jb.target:
		jb.target = est
	case est < jb.target:
		jb.target -= min(jb.target-est, delayDecay)
	}
	jb.target = min(max(jb.target, jb.minDelay), jb.maxDelay)
}

// span is how much audio the buffered packets cover, from the first one, in samples.
func (jb *jitterBuffer) span() int {
	if len(jb.pkts) == 0 {
		return 0
	}
	return int(jb.pkts[len(jb.pkts)-1].ts + int64(jb.frameLen) - jb.pkts[0].ts)
}

// level is how far ahead of the play position the newest packet reaches, in samples:
// the delay a packet arriving now would wait before it is played.
func (jb *jitterBuffer) level() int {
	if !jb.playing {
		return jb.span()
	}
	if len(jb.pkts) == 0 {
		return 0
	}
	return max(0, int(jb.pkts[len(jb.pkts)-1].ts+int64(jb.frameLen)-jb.nextTs))
}

// delay is how long the quickest packets wait between arriving and being played, in
// samples, by the same measure as the target: where the newest packet starts, ahead of the
// play position, plus how long ago it came, plus how much later than the quickest packet
// it was. A packet is on time if it was less than this much later than the quickest, to
// within a frame. Unlike the level it does not swing with each packet's jitter, so it can
// be steered to the target. now is in samples of the arrival clock.
func (jb *jitterBuffer) delay(now int64) int {
	if len(jb.pkts) == 0 || jb.pkts[len(jb.pkts)-1].seq != jb.highSeq {
		return max(0, jb.level()-jb.frameLen)
	}
	return jb.level() - jb.frameLen + int(now-jb.newestArrival) + int(jb.newestTransit-jb.minTransit)
}

// start begins playing at the first buffered packet; after an underrun, that is at or
// after the slot play stopped at, since push refuses anything older.
func (jb *jitterBuffer) start() {
	jb.playing, jb.played = true, true
	jb.next, jb.nextTs = jb.pkts[0].seq, jb.pkts[0].ts
}

// slot says what to play for the next slot.
type slot int

const (
	slotPacket slot = iota // the packet is here: decode it
	slotFEC                // lost, but the next packet is here: decode its FEC data
	slotGap                // lost, and so is the next: conceal
	slotEmpty              // nothing buffered at all: underrun
)

// peek says what the next slot holds, and the payload to decode for slotPacket and slotFEC.
// The payload stays valid until the next push or advance.
func (jb *jitterBuffer) peek() (slot, []byte) {
	if len(jb.pkts) == 0 {
		return slotEmpty, nil
	}
	switch p := jb.pkts[0]; {
	case p.seq == jb.next:
		return slotPacket, p.payload
	case p.seq == jb.next+1:
		return slotFEC, p.payload
	}
	return slotGap, nil
}

// peekNext returns the next slot's packet, if it is buffered.
func (jb *jitterBuffer) peekNext() ([]byte, bool) {
	if len(jb.pkts) == 0 || jb.pkts[0].seq != jb.next {
		return nil, false
	}
	return jb.pkts[0].payload, true
}

// advance moves past the next slot, which lasted samples, dropping its packet if it had one.
func (jb *jitterBuffer) advance(samples int) {
	if len(jb.pkts) > 0 && jb.pkts[0].seq == jb.next {
		jb.free = append(jb.free, jb.pkts[0].payload[:0])
		jb.pkts = slices.Delete(jb.pkts, 0, 1)
	}
	jb.next++
	jb.nextTs += int64(samples)
	if len(jb.pkts) > 0 && jb.pkts[0].seq == jb.next {
		jb.nextTs = jb.pkts[0].ts // the sender's clock is the reference, not our count
	}
}
