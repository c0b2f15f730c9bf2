package call

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"
)

const (
	// ringSize bounds the packets an assembler holds (a power of two): a gap is given up
	// long before, and a frame of more packets (over 500 kB) cannot be assembled.
	ringSize = 512
	// maxLateDelay is how long a gap may wait for a NACKed packet, counted from the arrival
	// of the first packet after it; maxLatePackets bounds the wait in packets. pion's NACK
	// generator asks every 100 ms, so this leaves room for a retry or two over a slow link;
	// at low bitrates, where 128 packets are seconds of video, the time bound comes first.
	maxLateDelay = 500 * time.Millisecond
	// farBehind is how far before the frames still to come a packet can be and still be a
	// (useless) retransmission: pion's NACK generator asks only within its 512-packet log.
	// Anything older means the sender's sequence numbers restarted.
	farBehind = 2048
	// restartOldPackets consecutive packets before the frames still to come, with nothing
	// new between them, also mean a restart (retransmissions come between new packets).
	restartOldPackets = 64
)

// slot holds one packet's VP8 data (payload descriptor removed) while its frame is
// incomplete, and remembers its number and timestamp after. buf is kept when the slot is
// reused.
type slot struct {
	full    bool // held: in [next, end)
	seen    bool // seq and ts are those of a packet received, held or not
	seq     uint16
	ts      uint32
	marker  bool
	head    bool // first packet of the frame: S=1, partition index 0
	padding bool // no payload: takes a sequence number, belongs to no frame
	at      time.Time
	buf     []byte
}

// frameAssembler rebuilds VP8 frames (RFC 7741) from RTP packets and hands each one on as
// soon as it is complete: every packet from a partition head to the marker bit, sequence
// numbers contiguous, one timestamp. Frames leave in order; a later complete frame waits
// behind an earlier one with a gap until the missing packet is retransmitted or the gap is
// given up (maxLatePackets, maxLateDelay), and the frame after a given-up one carries the
// number of packets dropped in PrevDroppedPackets. pion's samplebuilder, by contrast, holds
// each complete frame until the next frame's first packet arrives: a frame interval more.
//
// It is not safe for concurrent use: the receive goroutine owns it.
type frameAssembler struct {
	ring    [ringSize]slot
	started bool
	// fresh until the first frame leaves or a packet is dropped: a packet just before the
	// first one received is then still welcome (reordering at the start of the stream).
	fresh   bool
	next    uint16 // first sequence number not yet released or dropped
	end     uint16 // one past the highest held; next == end when nothing is held
	dropped int    // packets dropped since the last frame
	oldRun  int    // consecutive packets from before next
	vp8     codecs.VP8Packet
	frame   []byte
	sample  media.Sample
}

func newFrameAssembler() *frameAssembler {
	return &frameAssembler{fresh: true}
}

// differs reports whether the slot last held packet seq with a timestamp other than ts.
func (s *slot) differs(seq uint16, ts uint32) bool {
	return s.seen && s.seq == seq && s.ts != ts
}

func (a *frameAssembler) slot(seq uint16) *slot { return &a.ring[seq%ringSize] }

// held returns the slot holding the packet with sequence number seq, or nil.
func (a *frameAssembler) held(seq uint16) *slot {
	if s := a.slot(seq); s.full && s.seq == seq {
		return s
	}
	return nil
}

// push takes one packet, copying what it keeps, and calls emit for each frame that is now
// complete, in order. The sample and its data are reused once emit returns.
func (a *frameAssembler) push(p *rtp.Packet, now time.Time, emit func(*media.Sample)) {
	seq := p.SequenceNumber
	if !a.started {
		a.started = true
		a.next, a.end = seq, seq
	}
	if behind := a.next - seq; behind != 0 && behind <= 0x8000 {
		switch {
		case a.fresh && a.next == a.end:
			a.next, a.end = seq, seq // nothing held yet (the first packet was unreadable)
		case a.fresh && a.end-seq <= ringSize:
			a.next = seq
		case behind > farBehind:
			a.restart(seq)
		case behind <= ringSize && a.slot(seq).differs(seq, p.Timestamp):
			// Not a copy of the packet released with this number: the sender restarted.
			a.restart(seq)
		default:
			// A duplicate or a retransmission too late to use.
			if a.oldRun++; a.oldRun < restartOldPackets {
				return
			}
			a.restart(seq)
		}
	} else if seq-a.next >= ringSize {
		// Too far ahead to hold: a burst of loss longer than any gap is waited for, or
		// the sender restarted.
		a.restart(seq)
	}
	a.oldRun = 0

	s := a.slot(seq)
	if s.full && s.seq == seq {
		return // duplicate
	}
	*s = slot{full: true, seen: true, seq: seq, ts: p.Timestamp, marker: p.Marker, at: now, buf: s.buf[:0]}
	if len(p.Payload) == 0 {
		s.padding = true
	} else {
		data, err := a.vp8.Unmarshal(p.Payload)
		if err != nil {
			s.full = false // unreadable: a gap, as if it had been lost
			return
		}
		s.head = a.vp8.S == 1 && a.vp8.PID == 0
		s.buf = append(s.buf, data...)
	}
	if seq-a.next >= a.end-a.next {
		a.end = seq + 1
	}
	a.release(now, emit)
}

// restart forgets everything held and starts again at seq, flagging the next frame.
func (a *frameAssembler) restart(seq uint16) {
	a.drop(a.end)
	a.dropped++
	a.next, a.end = seq, seq
	a.oldRun = 0
}

// drop forgets the packets before upTo (counting the gaps and frames among them as lost,
// padding not) and moves next there.
func (a *frameAssembler) drop(upTo uint16) {
	a.fresh = false
	for ; a.next != upTo; a.next++ {
		s := a.held(a.next)
		if s == nil || !s.padding {
			a.dropped++
		}
		if s != nil {
			s.full = false
		}
	}
}

// release emits the frames at the head that are complete, and gives up gaps that have
// waited too long.
func (a *frameAssembler) release(now time.Time, emit func(*media.Sample)) {
	for a.next != a.end {
		// after is the first packet held past the gap that blocks the head; its arrival
		// tells how long the gap has been known.
		var after uint16
		switch s := a.held(a.next); {
		case s == nil:
			after = a.heldFrom(a.next + 1)
		case s.padding:
			s.full = false
			a.next++
			a.fresh = false
			continue
		case !s.head && !a.fresh:
			// Its frame's first packet was given up already.
			a.drop(a.next + 1)
			continue
		case !s.head:
			// At the start of the stream the frame's first packet may still come, out of
			// order: wait for it as for a gap, but not once the next frame has begun.
			if last, complete := a.scan(s.ts); complete && last+1 != a.end {
				a.giveUp(a.next)
				continue
			}
			after = a.next
		default:
			last, complete := a.scan(s.ts)
			if complete {
				a.emit(last, emit)
				continue
			}
			if last+1 == a.end {
				return // the frame is still arriving
			}
			after = a.heldFrom(last + 2)
		}
		if after == a.end {
			return // cannot happen: end-1 is held while next != end
		}
		if a.end-a.next <= maxLatePackets && now.Sub(a.held(after).at) <= maxLateDelay {
			return
		}
		a.giveUp(after)
	}
}

// heldFrom returns the first sequence number from seq on that is held, or end.
func (a *frameAssembler) heldFrom(seq uint16) uint16 {
	for seq != a.end && a.held(seq) == nil {
		seq++
	}
	return seq
}

// scan walks the frame at next with timestamp ts: it returns its last packet and whether
// that completes it (the marker bit, or the next packet held starts another timestamp),
// or the last contiguous packet held.
func (a *frameAssembler) scan(ts uint32) (last uint16, complete bool) {
	last = a.next
	for seq := a.next; seq != a.end; seq++ {
		s := a.held(seq)
		if s == nil {
			return last, false
		}
		if !s.padding && s.ts != ts {
			return last, true // the sender set no marker; the frame ended all the same
		}
		last = seq
		if s.marker && !s.padding {
			return last, true
		}
	}
	return last, false
}

// emit hands on the frame from next to last and moves past it.
func (a *frameAssembler) emit(last uint16, emit func(*media.Sample)) {
	a.frame = a.frame[:0]
	ts := a.held(a.next).ts
	for ; ; a.next++ {
		s := a.held(a.next)
		a.frame = append(a.frame, s.buf...)
		s.full = false
		if a.next == last {
			a.next++
			break
		}
	}
	a.sample = media.Sample{Data: a.frame, PacketTimestamp: ts, PrevDroppedPackets: uint16(min(a.dropped, 0xffff))}
	a.dropped = 0
	a.fresh = false
	emit(&a.sample)
}

// giveUp drops the frame blocked at next, given that after is the first packet held past
// the gap: the gap and the packets of the same frame around it, up to the next frame or
// the next gap, which waits on its own.
func (a *frameAssembler) giveUp(after uint16) {
	first := a.next
	if a.held(first) == nil {
		first = after
		if s := a.held(after); s.head || s.padding {
			a.drop(after) // whole frames (or padding) went missing
			return
		}
	}
	ts := a.held(first).ts
	last := first
	for seq := first; seq != a.end; seq++ {
		if s := a.held(seq); s != nil && !s.padding {
			if s.ts != ts {
				break
			}
			last = seq
		}
	}
	a.drop(last + 1)
}
