package switchboard

import "time"

// ConnLimits bound how long one client may hold the HTTP server and how many signalling
// connections one credential may keep open. The zero value means DefaultConnLimits; a
// zero field means that field's default.
type ConnLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers; ReadTimeout its headers and
	// body together, so a body sent a byte at a time is cut off. ImportTimeout replaces
	// both ReadTimeout and WriteTimeout for an authenticated schedule import, whose body
	// may be 16 MiB.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	ImportTimeout     time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end of the
	// response. The signalling WebSocket is not bound by it nor by ReadTimeout: its
	// connection's deadlines are cleared when it is upgraded.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next request.
	IdleTimeout time.Duration
	// SocketsPerDevice and SocketsPerSession cap the signalling connections open at once
	// with one device token or one clinician session; the next is refused (429) before
	// the upgrade. A booth needs one, and briefly two while a lost link is noticed.
	SocketsPerDevice  int
	SocketsPerSession int
}

// DefaultConnLimits suit a clinic's browsers and booths on ordinary links.
func DefaultConnLimits() ConnLimits {
	return ConnLimits{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		ImportTimeout:     5 * time.Minute,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		SocketsPerDevice:  4,
		SocketsPerSession: 8,
	}
}

func (l ConnLimits) withDefaults() ConnLimits {
	d := DefaultConnLimits()
	for _, f := range []struct{ v, def *time.Duration }{
		{&l.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&l.ReadTimeout, &d.ReadTimeout},
		{&l.ImportTimeout, &d.ImportTimeout}, {&l.WriteTimeout, &d.WriteTimeout}, {&l.IdleTimeout, &d.IdleTimeout},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	if l.SocketsPerDevice == 0 {
		l.SocketsPerDevice = d.SocketsPerDevice
	}
	if l.SocketsPerSession == 0 {
		l.SocketsPerSession = d.SocketsPerSession
	}
	return l
}
