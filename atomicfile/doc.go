// Package atomicfile writes a small file so that a power cut at any moment leaves either
// the old content or the complete new one under its name, never a torn or empty file:
// a temporary file in the same directory (so the rename stays on one file system),
// written, fsync'd, given its mode, renamed over the target, and the directory fsync'd so
// the rename itself survives (rename(2) is atomic; durability needs the directory sync,
// see https://man7.org/linux/man-pages/man2/fsync.2.html).
package atomicfile
