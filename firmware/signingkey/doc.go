// Package signingkey provides the ed25519 keys firmware bundles are signed with
// (RFC 8032; crypto/ed25519), and their files: `boothctl firmware keygen` writes a pair,
// `sign` reads the private key, and a device reads the public keys it trusts.
//
// # Files
//
// Both are one line of text, so they can be pasted, diffed and reviewed:
//
//	carebooth-firmware-ed25519 <base64 of the 32-byte public key> [comment]
//	carebooth-firmware-ed25519-private <base64 of the 32-byte seed>
//
// (standard base64 with padding, RFC 4648 section 4). A trust file holds any number of
// public-key lines, so a new release key can be trusted before the old one is retired;
// blank lines and lines starting with # are ignored. The private key is written with mode
// 0600 through atomicfile, never over an existing file, and refused when read if its
// group or others may read it (as ssh does), since whoever reads it can sign firmware
// for every booth.
package signingkey
