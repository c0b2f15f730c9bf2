// Package bundle provides the signed firmware bundle: building one (Sign) and checking one
// and unpacking it into a staging directory (Extract, Verify), refusing it with a reason a
// person can act on when anything is wrong.
//
// # Format (format version 1)
//
// A bundle is a POSIX tar archive (ustar or PAX, as archive/tar writes), optionally
// gzip-compressed as a whole (detected by the gzip magic bytes 1f 8b). Its entries are, in
// this order:
//
//  1. manifest.json: the manifest, UTF-8 JSON, at most MaxManifestBytes.
//  2. manifest.sig: exactly 64 bytes, the ed25519 signature (RFC 8032, pure Ed25519) of
//     the exact bytes of manifest.json. The key signs nothing else.
//  3. One regular file per manifest entry, in the manifest's order, named by its path.
//
// Nothing else: no directory entries (directories are implied by paths and created 0755),
// no links, devices or FIFOs, and no entries after the last file. The manifest is
//
//	{
//	  "format": 1,
//	  "version": "1.4.2",                 // MAJOR.MINOR.PATCH[-PRERELEASE], see Version
//	  "target": {"platform": "linux/arm64", "board": "rpi4"},
//	  "created": "2026-12-07T12:00:00Z",
//	  "files": [
//	    {"path": "bin/boothd", "size": 123, "sha256": "<64 hex digits>", "mode": "0755"}
//	  ]
//	}
//
// Unknown fields are refused (a newer format must raise "format"), and so is anything
// after the JSON value. A path is slash-separated, relative, clean (path.Clean leaves it
// as it is), has no "." or ".." element, no backslash or NUL, is unique, and is not a
// prefix directory of another file's path. The mode is three octal digits of permission
// bits; set-id and sticky bits are refused.
//
// # Checking order
//
// Extract trusts nothing in the archive until the signature checks out: it bounds the
// declared size by Policy.MaxSize, reads the first two entries with size limits, verifies
// the signature over the manifest's raw bytes against every trusted key, and only then
// parses the manifest (strictly, with limits on the number of files, each file's size and
// the total), checks the target and the version against the Policy, and extracts. Every
// file is written inside the staging directory through an os.Root (so no name, whatever
// it says, can reach outside it), its size and SHA-256 checked as it streams. On any
// error the staging directory is emptied, so a caller never installs from a half-checked
// one. Errors wrap one of the Err sentinels (errors.Is) and say which file and what to do.
//
// Signing keys are read and written by package firmware/signingkey.
package bundle
