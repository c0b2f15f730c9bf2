package switchboard

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/hub"
	"github.com/carebooth/carebooth/switchboard/store"
)

// sessionCloseWait bounds how long ending a session waits for its signalling connections
// to finish their close handshake. A browser answers at once; one that does not read
// cannot be receiving anything either.
const sessionCloseWait = 2 * time.Second

// sockets tracks the live signalling connections of each credential, a clinician session
// (by its token hash) or a device: ending a session closes its connections, a session's
// connections close by themselves when it expires, and one credential may keep only so
// many open.
type sockets struct {
	clock      clockwork.Clock
	perDevice  int
	perSession int

	mu   sync.Mutex
	open map[string]map[*socket]struct{} // credential key -> its live connections
}

// socket is one registered signalling connection.
type socket struct {
	owner    *sockets
	key      string
	kicked   chan struct{} // closed to ask the connection to close
	kickOnce sync.Once
	reason   string        // why it was kicked; written before kicked is closed
	done     chan struct{} // closed by release, once the connection is gone
	expiry   clockwork.Timer
}

var errTooManySockets = errors.New("too many signalling connections for one credential")

func newSockets(clock clockwork.Clock, lim ConnLimits) *sockets {
	return &sockets{clock: clock, perDevice: lim.SocketsPerDevice, perSession: lim.SocketsPerSession,
		open: map[string]map[*socket]struct{}{}}
}

func sessionKey(hash string) string { return "session:" + hash }

func deviceKey(id string) string { return "device:" + id }

// acquire registers a connection for p, or returns errTooManySockets when p's credential
// already has its cap open. A session's connection is kicked when the session expires.
func (ss *sockets) acquire(p *principal) (*socket, error) {
	key, limit := sessionKey(p.sessionHash), ss.perSession
	if p.device != nil {
		key, limit = deviceKey(p.device.ID), ss.perDevice
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.open[key]) >= limit {
		return nil, errTooManySockets
	}
	sk := &socket{owner: ss, key: key, kicked: make(chan struct{}), done: make(chan struct{})}
	if p.device == nil && !p.sessionExpires.IsZero() {
		sk.expiry = ss.clock.AfterFunc(p.sessionExpires.Sub(ss.clock.Now()), func() { sk.kick("session expired") })
	}
	if ss.open[key] == nil {
		ss.open[key] = map[*socket]struct{}{}
	}
	ss.open[key][sk] = struct{}{}
	return sk, nil
}

// release unregisters sk once its connection has ended.
func (ss *sockets) release(sk *socket) {
	if sk.expiry != nil {
		sk.expiry.Stop()
	}
	ss.mu.Lock()
	delete(ss.open[sk.key], sk)
	if len(ss.open[sk.key]) == 0 {
		delete(ss.open, sk.key)
	}
	ss.mu.Unlock()
	close(sk.done)
}

var _ hub.Lease = (*socket)(nil)

// Kicked is closed when sk's connection is asked to close; Reason then says why.
func (sk *socket) Kicked() <-chan struct{} { return sk.kicked }

// Reason is why sk was kicked; read it once Kicked is closed.
func (sk *socket) Reason() string { return sk.reason }

// Release unregisters sk once its connection has ended.
func (sk *socket) Release() { sk.owner.release(sk) }

// kick asks sk's connection to close, with reason as the close frame's. It does not wait.
func (sk *socket) kick(reason string) {
	sk.kickOnce.Do(func() {
		sk.reason = reason
		close(sk.kicked)
	})
}

// endSession closes the signalling connections of the session whose token hash is h and
// waits, at most sessionCloseWait, until they are gone: once it returns they are sent
// nothing more.
func (ss *sockets) endSession(h, reason string) { ss.end(sessionKey(h), reason) }

// endDevice closes the signalling connections of device id, as endSession.
func (ss *sockets) endDevice(id, reason string) { ss.end(deviceKey(id), reason) }

func (ss *sockets) end(key, reason string) {
	ss.mu.Lock()
	var kicked []*socket
	for sk := range ss.open[key] {
		sk.kick(reason)
		kicked = append(kicked, sk)
	}
	ss.mu.Unlock()
	if len(kicked) == 0 {
		return
	}
	t := time.NewTimer(sessionCloseWait) // real time: it bounds network waits
	defer t.Stop()
	for _, sk := range kicked {
		select {
		case <-sk.done:
		case <-t.C:
			return
		}
	}
}

// openSocket registers a signalling connection for p before its upgrade, or refuses it,
// writing the response: 429 when p's credential has its cap open, 401 when p's session
// was ended after p was authenticated (endSession ran before the registration and could
// not close it; the store already says so), 403 when p's device was revoked since.
func (s *Server) openSocket(w http.ResponseWriter, r *http.Request, p *principal) (*socket, bool) {
	sk, err := s.sockets.acquire(p)
	if err != nil {
		n, who := s.sockets.perSession, "this session"
		if p.device != nil {
			n, who = s.sockets.perDevice, "this device"
		}
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((2*s.cfg.PingInterval).Seconds()))))
		writeError(w, http.StatusTooManyRequests, api.CodeRateLimited, "%s already has %d signalling connections open; close one (a lost one is dropped within %s)", who, n, 2*s.cfg.PingInterval)
		return nil, false
	}
	if p.device != nil {
		d, err := s.store.Device(p.device.ID)
		if err == nil && d.Revoked != nil {
			s.sockets.release(sk)
			writeRevoked(w)
			return nil, false
		}
	}
	if p.device == nil {
		if _, err := s.store.Session(p.sessionHash); err != nil {
			s.sockets.release(sk)
			if errors.Is(err, store.ErrNotFound) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="carebooth"`)
				writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, "the session has ended; log in again")
				return nil, false
			}
			s.internalError(w, r, err)
			return nil, false
		}
	}
	return sk, true
}

// handleSignal hands an authenticated request for the signalling WebSocket to the hub,
// registering it with the credential's sockets before the upgrade.
func (s *Server) handleSignal(w http.ResponseWriter, r *http.Request, p *principal) {
	err := s.hub.Serve(w, r, hub.Peer{
		Identity: p.identity(),
		Addr:     clientIP(r),
		Open:     func() (hub.Lease, bool) { return s.openSocket(w, r, p) },
	})
	if errors.Is(err, hub.ErrClosed) {
		writeError(w, http.StatusServiceUnavailable, api.CodeInternal, "the switchboard is shutting down")
	}
}
