// Package opus provides an Opus decoder backed by libopus through cgo. mediadevices only
// encodes Opus; the booth needs to decode what the clinician sends.
//
// [Decoder.Decode] turns one RTP payload (one Opus packet, RFC 7587) into interleaved 16-bit
// PCM at 48 kHz. For a lost packet, [Decoder.DecodeFEC] rebuilds it from the in-band forward
// error correction carried by the packet after it (when the sender enabled FEC; mediadevices
// and browsers advertise useinbandfec=1), and [Decoder.Conceal] runs libopus's packet-loss
// concealment when there is nothing to rebuild from. Output slices are reused, so a steady
// stream allocates nothing.
//
// Linking: this package links libopus through pkg-config (libopus-dev). mediadevices' Opus
// encoder links its own static libopus (pkg/codec/opus/lib/libopus-linux-*.a) unless built
// with the "dynamic" tag. A binary importing both links fine and runs: the static archive's
// opus_* definitions are resolved first and satisfy both packages, and the shared library's
// copies are never bound, so there is a single libopus in the process (the bundled one, unless
// the binary is built with -tags dynamic, in which case both use the system's). The libopus
// API used here has been stable since 1.0, so either version serves. TestEncodeDecodeSine
// links both and checks the round trip.
//
// References: RFC 6716 (Opus codec), RFC 7587 (RTP payload format for Opus), the libopus API
// in opus/opus.h (opus_decode, opus_decoder_ctl).
package opus
