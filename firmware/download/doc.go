// Package download provides the device's download of a firmware bundle over HTTP: into a
// partial file that survives an interruption and a restart, resumed with a Range request
// (RFC 9110 section 14), bounded in size, reporting progress and stopping when its
// context is cancelled.
//
// A resumed request asks for "Range: bytes=N-" where N is the partial file's length. Only
// a 206 Partial Content whose Content-Range starts at N and states the whole length is
// taken as a continuation; a 200 (the server ignores ranges) restarts the file from zero
// with that response, and a 206 for another range, or a 416 that does not say the file is
// already whole, restarts it with a plain request. Bytes after the cap (Options.MaxSize),
// or a declared length over it, stop the download with ErrTooLarge and remove the partial
// file. What arrives is not trusted here: package firmware/bundle checks the signature
// and every hash before anything is installed, so a partial file spliced from two
// versions is refused there (and the caller removes it and starts again).
package download
