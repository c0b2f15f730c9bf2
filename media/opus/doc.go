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
// with the "dynamic" tag. A binary importing both links and runs without a symbol clash: the
// linker resolves each opus_* symbol once, from whichever library it meets first, and never
// pulls the duplicate. With Go 1.26 on Debian 12 that is the system libopus.so.0 for both
// packages (nm shows opus_encode and opus_decode undefined, bound to libopus.so.0), so the
// booth's package must depend on libopus0. Building with -tags dynamic makes that explicit.
// The libopus API used here has been stable since 1.0, so either copy serves.
// TestEncodeDecodeSine links both and checks the round trip.
//
// References: RFC 6716 (Opus codec), RFC 7587 (RTP payload format for Opus), the libopus API
// in opus/opus.h (opus_decode, opus_decoder_ctl).
package opus
