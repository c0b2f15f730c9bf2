package bundle

import "errors"

// The reasons a bundle is refused. Every error Extract and Verify return wraps one of
// them, with the file and what to do in its message.
var (
	// ErrSignature: no trusted key signed the manifest, or the signature is missing.
	ErrSignature = errors.New("bad or missing signature")
	// ErrFormat: not a bundle of a format this build reads (entries missing, out of
	// order or unlisted, a malformed manifest).
	ErrFormat = errors.New("not a valid bundle")
	// ErrTarget: built for another platform or board.
	ErrTarget = errors.New("wrong target")
	// ErrDowngrade: not newer than the running version, and the policy does not allow it.
	ErrDowngrade = errors.New("not newer than the running version")
	// ErrTruncated: the bundle ends before its declared size or before its last file.
	ErrTruncated = errors.New("truncated")
	// ErrTooLarge: the bundle, the manifest, a file or the total is over its limit.
	ErrTooLarge = errors.New("too large")
	// ErrPath: a path that is absolute, unclean, escapes, repeats, or names a link or device.
	ErrPath = errors.New("unsafe path")
	// ErrHash: a file's content is not what the manifest says (SHA-256 or size).
	ErrHash = errors.New("content does not match the manifest")
)
