// Package pionlog routes the logs of pion's libraries (webrtc, ice, dtls, turn) into
// log/slog, at levels that keep a booth's journal readable.
package pionlog
