package call

import (
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/carebooth/carebooth/media/opus"
	"github.com/carebooth/carebooth/media/vp8"
)

const (
	// maxLatePackets is how far the frame assembler waits for a missing (NACKed) packet
	// before it gives the frame up, as pion's sample builder did: about 0.6 s of 1280x720
	// video at 2 Mbit/s, 2 s at 600 kbit/s (maxLateDelay bounds it in time).
	maxLatePackets = 128
	// maxConcealPackets bounds how much audio loss is concealed: beyond 100 ms the gap is left
	// silent rather than filled with a drawn-out vowel.
	maxConcealPackets = 5
	// warnEvery rate-limits repeated decode warnings.
	warnEvery = 10 * time.Second
)

type videoReceiver struct {
	ssrc         uint32
	packets      counter
	frames       counter
	errors       counter
	plis         counter
	needKey      atomic.Bool
	lastFrame    atomic.Int64 // unix nanos of the last decoded frame
	lastPLI      atomic.Int64 // unix nanos
	lastWarn     time.Time    // receive goroutine only
	ticksPackets uint64       // monitor goroutine only: packets at the previous tick
}

type audioReceiver struct {
	ssrc      uint32
	packets   counter
	decoded   counter
	concealed counter
	errors    counter
}

// onTrack runs in a pion goroutine; the receive loop runs in one the call owns.
func (c *Call) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(2)
	c.mu.Unlock()
	go func() {
		// The remote's sender reports only reach the interceptors (and so our receiver
		// reports, which the sender needs for its RTT) if someone reads the receiver's RTCP.
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := r.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		defer c.wg.Done()
		mime := t.Codec().MimeType
		switch {
		case strings.EqualFold(mime, webrtc.MimeTypeVP8):
			c.receiveVideo(t)
		case strings.EqualFold(mime, webrtc.MimeTypeOpus):
			c.receiveAudio(t)
		default:
			c.log.Warn("remote track with unsupported codec, discarding", "mime", mime)
			drain(t)
		}
	}()
}

// drain reads and drops packets, so the interceptors (reports, NACK) still see them.
func drain(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := t.Read(buf); err != nil {
			return
		}
	}
}

func (c *Call) receiveVideo(t *webrtc.TrackRemote) {
	vr := &videoReceiver{ssrc: uint32(t.SSRC())}
	vr.needKey.Store(true)
	c.mu.Lock()
	c.video = append(c.video, vr)
	c.mu.Unlock()
	c.log.Info("receiving video", "ssrc", vr.ssrc)

	dec, err := vp8.NewDecoder(vp8.DecoderConfig{})
	if err != nil {
		c.log.Error("vp8 decoder", "err", err)
		drain(t)
		return
	}
	defer dec.Close()
	fa := newFrameAssembler()
	emit := func(s *media.Sample) { c.videoFrame(vr, dec, s) }
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		vr.packets.add(1)
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue // as good as lost: the frame waits for a retransmission
		}
		fa.push(&pkt, c.clock.Now(), emit)
	}
}

func (c *Call) videoFrame(vr *videoReceiver, dec *vp8.Decoder, s *media.Sample) {
	if s.PrevDroppedPackets > 0 && !vp8.IsKeyFrame(s.Data) {
		// The frame before this one is gone, so this one refers to a picture we do not
		// have: freeze until a keyframe rather than show smeared video.
		vr.needKey.Store(true)
	}
	if vr.needKey.Load() && !vp8.IsKeyFrame(s.Data) {
		c.requestKeyFrame(vr)
		return
	}
	img, err := dec.Decode(s.Data)
	if err != nil {
		vr.errors.add(1)
		vr.needKey.Store(true)
		c.requestKeyFrame(vr)
		if now := c.clock.Now(); now.Sub(vr.lastWarn) > warnEvery && !errors.Is(err, vp8.ErrNeedKeyFrame) {
			vr.lastWarn = now
			c.log.Warn("video frame not decoded", "ssrc", vr.ssrc, "err", err, "errors", vr.errors.load())
		}
		return
	}
	vr.needKey.Store(false)
	now := c.clock.Now()
	vr.lastFrame.Store(now.UnixNano())
	if vr.frames.add(1) == 1 {
		c.mu.Lock()
		first := c.firstFrameAt.IsZero()
		if first {
			c.firstFrameAt = now
		}
		started := c.startedAt
		c.mu.Unlock()
		if first {
			c.log.Info("first video frame", "after", now.Sub(started),
				"width", img.Rect.Dx(), "height", img.Rect.Dy())
		}
	}
	if c.opts.OnVideoFrame != nil {
		c.opts.OnVideoFrame(img)
	}
}

// requestKeyFrame sends a PLI (RFC 4585 section 6.3.1), at most one per half PLIInterval.
func (c *Call) requestKeyFrame(vr *videoReceiver) {
	now := c.clock.Now().UnixNano()
	last := vr.lastPLI.Load()
	if now-last < int64(c.engine.cfg.PLIInterval/2) || !vr.lastPLI.CompareAndSwap(last, now) {
		return
	}
	vr.plis.add(1)
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: vr.ssrc}}); err != nil {
		return // the connection is closing; Done will say so
	}
}

func (c *Call) receiveAudio(t *webrtc.TrackRemote) {
	ar := &audioReceiver{ssrc: uint32(t.SSRC())}
	c.mu.Lock()
	c.audio = append(c.audio, ar)
	c.mu.Unlock()
	c.log.Info("receiving audio", "ssrc", ar.ssrc, "jitter_buffer", c.opts.OnAudioPacket != nil)

	// With a packet sink (the speaker's jitter buffer) and no PCM callback, decoding, loss
	// concealment and FEC happen there, at the speaker's pace.
	var dec *opus.Decoder
	if c.opts.OnAudio != nil || c.opts.OnAudioPacket == nil {
		var err error
		if dec, err = opus.NewDecoder(1); err != nil {
			c.log.Error("opus decoder", "err", err)
			drain(t)
			return
		}
		defer dec.Close()
	}
	out := func(pcm []int16) {
		if c.opts.OnAudio != nil && len(pcm) > 0 {
			c.opts.OnAudio(pcm)
		}
	}
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var lastSeq uint16
	started := false
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			ar.errors.add(1)
			continue
		}
		ar.packets.add(1)
		if c.opts.OnAudioPacket != nil {
			c.opts.OnAudioPacket(&pkt)
			if dec == nil {
				// Counted as decoded: the sink decodes every packet it is handed (or
				// drops it as late or duplicate, which the call would have done too).
				ar.decoded.add(1)
				continue
			}
		}
		if started {
			gap := pkt.SequenceNumber - lastSeq
			if gap == 0 || gap >= 0x8000 {
				continue // duplicate, or late: its slot was concealed already
			}
			if lost := int(gap) - 1; lost > 0 && lost <= maxConcealPackets {
				for i := 0; i < lost-1; i++ {
					if pcm, err := dec.Conceal(); err == nil {
						ar.concealed.add(1)
						out(pcm)
					}
				}
				// The packet just before this one can be rebuilt from its FEC.
				if pcm, err := dec.DecodeFEC(pkt.Payload); err == nil {
					ar.concealed.add(1)
					out(pcm)
				}
			}
		}
		started = true
		lastSeq = pkt.SequenceNumber
		pcm, err := dec.Decode(pkt.Payload)
		if err != nil {
			ar.errors.add(1)
			continue
		}
		ar.decoded.add(1)
		out(pcm)
	}
}

// monitor asks again for a keyframe while a video receiver lacks one, and asks when frames
// have stopped decoding although packets still arrive.
func (c *Call) monitor() {
	defer c.wg.Done()
	tick := c.clock.NewTicker(c.engine.cfg.PLIInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-tick.Chan():
		}
		c.followEstimate()
		c.mu.Lock()
		video := append([]*videoReceiver(nil), c.video...)
		c.mu.Unlock()
		now := c.clock.Now()
		for _, vr := range video {
			pk := vr.packets.load()
			arriving := pk != vr.ticksPackets
			vr.ticksPackets = pk
			if !arriving {
				continue
			}
			stalled := now.Sub(time.Unix(0, vr.lastFrame.Load())) > c.engine.cfg.StallTimeout
			if vr.needKey.Load() || stalled {
				c.requestKeyFrame(vr)
			}
		}
	}
}
