// Package progressbar provides the terminal progress bar `boothctl firmware publish`
// shows while a bundle uploads: a Reader that counts what passes through it (the request
// body) and redraws one line, at most every Interval on the injected clock and once at
// the end, with the share done, the bytes and the rate:
//
//	bundle-1.4.2.tar.gz [=============>          ]  58%  12.1 MiB / 20.8 MiB  3.2 MiB/s
//
// It writes "\r" and the line, so it belongs on a terminal; when the output is not one
// (a log, CI), the caller passes Plain and gets a line per 10% instead.
package progressbar
