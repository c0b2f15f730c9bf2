// Package playout turns the clinician's Opus packets into the sound the booth's speaker
// plays: an adaptive jitter buffer, the Opus decoder with in-band FEC and packet-loss
// concealment, volume and mute, and spoken prompts mixed over the call.
//
// Data flows one way. media/call hands each RTP packet to [Playout.Push] as it arrives
// (call.Options.OnAudioPacket); the speaker (hw/speaker) calls [Playout.Read] whenever its
// device needs the next period of samples, so the sound card's clock paces decoding and a
// test sink (hw/speaker/speakertest) can drive it without wall time.
//
// # Jitter buffer
//
// Packets are ordered by RTP sequence number (extended past wrap-around); duplicates are
// dropped, and so are packets whose slot has already been played or concealed (late).
// A new SSRC, or a jump of more than 1000 packets, starts the buffer afresh, the old stream
// fading out through its own concealment. The target delay adapts to measured jitter: the
// 95th percentile, over the last 150 packets (3 s), of how much later than the quickest
// packet each one arrived (arrival time minus RTP timestamp; the clocks' offset cancels),
// plus one packet; it grows at once and shrinks by at most 0.25 ms per packet, within
// [Config.MinDelay, Config.MaxDelay] (40 to 200 ms by default). Play starts once the target
// is buffered. While playing, the buffer's delay (where the newest packet sits, corrected
// for its own lateness, so it does not swing with each packet's jitter) is steered to the
// target by time stretching, in the manner of WebRTC NetEQ's expand and accelerate: when
// it is 10 ms short a frame is played longer by a few pitch periods, and when it is 25 ms
// over two frames are played in about the time of one, by cutting out whole pitch periods
// where the waveform matches itself (WSOLA) and cross-fading the join over 5 ms; a cut is
// made only where it will not be heard (correlation of 0.9 or more, or a quiet frame)
// unless the delay is far over. A burst far beyond the maximum (a stalled link
// catching up) jumps forward through a cross-fade.
//
// # Loss
//
// A slot whose packet is missing is rebuilt from the next packet's in-band FEC (LBRR) when
// that packet is buffered and carries it, and otherwise concealed by libopus's PLC. The
// first 40 ms of concealment in a row play at full level, the frame after fades to silence,
// later ones are silent; real audio after silence fades in over 5 ms. Packets of 10 to
// 60 ms are followed by their decoded length. When the buffer runs dry the
// missing packet's slot is not given up at once: concealment plays while it may still
// come, so a late packet still plays and the delay grows by what was concealed; after the
// fade the buffer waits for the target delay's worth of packets again. No transition is
// ever a step in the waveform.
//
// # Volume, mute, prompts
//
// Volume runs from 0 (silent) to 1 (unity gain), 4 dB per [VolumeStep] below that; changes
// and mute are ramped over 10 ms. [Playout.Play] queues a prompt (media/prompt renders
// them), mixed over the call, which is lowered by 12 dB under it; prompts play even while
// the call is muted.
//
// References: RFC 3550 (RTP sequence numbers, timestamps, section 6.4.1 interarrival
// jitter), RFC 7587 (Opus RTP payload), RFC 6716 (Opus; section 2.1.7 in-band FEC, 4.4
// packet-loss concealment), and WebRTC's NetEQ design (modules/audio_coding/neteq) for
// expand, accelerate and the delay manager.
package playout
