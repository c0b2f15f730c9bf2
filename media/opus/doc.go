// Package opus is Opus through libopus and cgo: the booth's encoder, for mediadevices, with
// in-band forward error correction (RFC 6716 section 2.1.7) on, which mediadevices' own
// encoder does not turn on ([Params]); and the decoder for what the clinician sends.
//
// [Params] encodes voice, mono, 20 ms a packet, with the redundancy sized for 10% loss: a
// lost packet is rebuilt from the next at the receiver (browsers and media/playout do) rather
// than concealed.
//
// [Decoder.Decode] turns one RTP payload (one Opus packet, RFC 7587) into interleaved 16-bit
// PCM at 48 kHz. For a lost packet, [Decoder.DecodeFEC] rebuilds it from the in-band forward
// error correction carried by the packet after it (when the sender enabled FEC; browsers
// advertise useinbandfec=1), and [Decoder.Conceal] runs libopus's packet-loss concealment
// when there is nothing to rebuild from. Output slices are reused, so a steady stream
// allocates nothing.
//
// Linking: this package links libopus through pkg-config (libopus-dev), and the booth's
// package depends on libopus0. mediadevices' Opus encoder, which links a static libopus of
// its own, is no longer part of the booth.
//
// References: RFC 6716 (Opus codec), RFC 7587 (RTP payload format for Opus), the libopus API
// in opus/opus.h (opus_decode, opus_decoder_ctl).
package opus
