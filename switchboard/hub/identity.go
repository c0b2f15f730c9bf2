package hub

import (
	"context"
	"log/slog"

	"github.com/coder/websocket"

	"github.com/carebooth/carebooth/switchboard/store"
)

// Identity is who an authenticated connection or request is: a clinician or a device.
// Exactly one of the two is set. The HTTP side authenticates; the hub trusts it.
type Identity struct {
	Clinician *store.Clinician
	Device    *store.Device
}

// Sees reports whether id may see appointment a: a device its own, a clinician (or the
// admin of a site) its clinic's, a fleet admin (an admin with no clinic) every clinic's.
func (id Identity) Sees(a *store.Appointment) bool {
	if id.Device != nil {
		return a.DeviceID == id.Device.ID
	}
	return (id.Clinician.Admin && id.Clinician.ClinicID == "") || a.ClinicID == id.Clinician.ClinicID
}

// Peer is an authenticated request to open a signalling connection.
type Peer struct {
	Identity Identity
	// Addr is the client's address, for logs.
	Addr string
	// Open registers the connection with whatever tracks its credential before the
	// upgrade, or refuses it, having written the response (ok false). Serve calls it
	// once it has agreed to serve the connection.
	Open func() (l Lease, ok bool)
}

// Lease is the caller's registration of one signalling connection.
type Lease interface {
	// Kicked is closed to ask the connection to close; Reason then says why, as the
	// close frame's text.
	Kicked() <-chan struct{}
	Reason() string
	// Release unregisters the connection once it has ended.
	Release()
}

// closeOnKick runs beside a connection until ctx ends: when l is kicked it closes ws
// with a policy-violation frame naming the reason (the peer sees why, and nothing is
// written after the frame), then cancels the connection.
func closeOnKick(ctx context.Context, l Lease, ws *websocket.Conn, cancel context.CancelFunc, log *slog.Logger) {
	select {
	case <-ctx.Done():
	case <-l.Kicked():
		reason := l.Reason()
		log.Info("closing signalling connection", "reason", reason)
		ws.Close(websocket.StatusPolicyViolation, reason) //nolint:errcheck // the peer may be gone already
		cancel()
	}
}
