package discovery

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults for a Table.
const (
	// Expiry is how long a peer stays after it last answered a browse. Browsing every
	// [Round] refreshes a live peer three times over, and a departed one is gone within 30 s.
	Expiry = 25 * time.Second
	// MaxDevices is how many devices a table holds; a site has tens.
	MaxDevices = 256
	// MaxSwitchboards is how many switchboards a table holds, apart from the devices so
	// that a flood of device announcements cannot hide the site's switchboard.
	MaxSwitchboards = 8
	// maxAddrs is how many addresses of each family a peer keeps.
	maxAddrs = 4
	// maxInstance is the longest instance name (one DNS label).
	maxInstance = 63
)

// ErrFull is returned when a new peer is refused because the table holds as many as it may.
// Peers already in it keep being refreshed: a flood of new names cannot push them out.
var ErrFull = errors.New("discovery table full")

// Peer is one service seen on the LAN: what its record claims, and where it answered.
type Peer struct {
	// Instance is the DNS-SD instance name, unique on the LAN (not the device ID: two
	// instances may claim the same ID, and only credentials tell which is genuine).
	Instance string
	Record
	Host  string       // the SRV target
	Port  int          // the SRV port
	Addrs []netip.Addr // IPv4 first, then IPv6; at most maxAddrs of each
	// FirstSeen and LastSeen are when the table first and last heard of it.
	FirstSeen, LastSeen time.Time
}

// Endpoints are the peer's host:port addresses to dial, in order.
func (p Peer) Endpoints() []string {
	out := make([]string, 0, len(p.Addrs))
	for _, a := range p.Addrs {
		out = append(out, netip.AddrPortFrom(a, uint16(p.Port)).String())
	}
	return out
}

// TableConfig tunes a Table; zero values take the defaults.
type TableConfig struct {
	Expiry          time.Duration
	MaxDevices      int
	MaxSwitchboards int
	Clock           clockwork.Clock
}

// Table is the peers seen recently. Safe for concurrent use.
type Table struct {
	cfg     TableConfig
	mu      sync.Mutex // guards the fields below
	peers   map[peerKey]Peer
	counts  map[Kind]int
	stats   Stats
	changed chan struct{} // closed and replaced on every change
}

type peerKey struct {
	kind     Kind
	instance string
}

// Stats counts what a table refused.
type Stats struct {
	Malformed uint64 // announcements refused as malformed
	Full      uint64 // new peers refused because the table was full
}

// NewTable returns an empty table.
func NewTable(cfg TableConfig) *Table {
	if cfg.Expiry <= 0 {
		cfg.Expiry = Expiry
	}
	if cfg.MaxDevices <= 0 {
		cfg.MaxDevices = MaxDevices
	}
	if cfg.MaxSwitchboards <= 0 {
		cfg.MaxSwitchboards = MaxSwitchboards
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	return &Table{cfg: cfg, peers: map[peerKey]Peer{}, counts: map[Kind]int{}, changed: make(chan struct{})}
}

// Observe records that p answered now. A peer whose record changed is replaced; a new peer
// is refused with ErrFull when the table holds as many of its kind as it may.
func (t *Table) Observe(p Peer) error {
	if err := p.Record.Validate(); err != nil {
		t.mu.Lock()
		t.stats.Malformed++
		t.mu.Unlock()
		return err
	}
	now := t.cfg.Clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	k := peerKey{p.Kind, p.Instance}
	old, had := t.peers[k]
	if !had {
		limit := t.cfg.MaxDevices
		if p.Kind == KindSwitchboard {
			limit = t.cfg.MaxSwitchboards
		}
		if t.counts[p.Kind] >= limit {
			t.stats.Full++
			return fmt.Errorf("%w: %d %s peers; %q refused", ErrFull, limit, p.Kind, p.Instance)
		}
		t.counts[p.Kind]++
		p.FirstSeen = now
	} else {
		p.FirstSeen = old.FirstSeen
	}
	p.LastSeen = now
	t.peers[k] = p
	if !had || !samePeer(old, p) {
		t.notify()
	}
	return nil
}

// samePeer reports whether a and b say the same (apart from when they were seen).
func samePeer(a, b Peer) bool {
	return a.Record == b.Record && a.Host == b.Host && a.Port == b.Port && slices.Equal(a.Addrs, b.Addrs)
}

// Peers returns the live peers of kind k, sorted by ID and instance.
func (t *Table) Peers(k Kind) []Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(t.cfg.Clock.Now())
	var out []Peer
	for key, p := range t.peers {
		if key.kind == k {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Peer) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Instance, b.Instance))
	})
	return out
}

// Claiming returns the live devices whose records claim the ID id. More than one means
// somebody is spoofing, or a device moved: only credentials tell which is genuine.
func (t *Table) Claiming(id string) []Peer {
	var out []Peer
	for _, p := range t.Peers(KindDevice) {
		if p.ID == id {
			out = append(out, p)
		}
	}
	return out
}

// Expire removes the peers that have not answered for the table's expiry, and says how many.
func (t *Table) Expire() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.expire(t.cfg.Clock.Now())
}

// expire must hold t.mu.
func (t *Table) expire(now time.Time) int {
	n := 0
	for k, p := range t.peers {
		if now.Sub(p.LastSeen) >= t.cfg.Expiry {
			delete(t.peers, k)
			t.counts[k.kind]--
			n++
		}
	}
	if n > 0 {
		t.notify()
	}
	return n
}

// Changed returns a channel closed at the next change: a peer added, changed or expired.
// Expiry is noticed when the table is read or Expire is called (the browser does so every
// round).
func (t *Table) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// notify must hold t.mu.
func (t *Table) notify() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// Stats returns what the table refused so far.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Len is how many peers of kind k the table holds, expired ones included until the next
// read.
func (t *Table) Len(k Kind) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts[k]
}

// peerFrom checks what the library resolved and turns it into a Peer.
func peerFrom(k Kind, instance, host string, port int, txt []string, v4, v6 []net.IP) (Peer, error) {
	if instance == "" || len(instance) > maxInstance {
		return Peer{}, fmt.Errorf("%w: instance name of %d bytes (1-%d)", ErrRecord, len(instance), maxInstance)
	}
	if port <= 0 || port > 65535 {
		return Peer{}, fmt.Errorf("%w: instance %q: port %d", ErrRecord, clip(instance), port)
	}
	if len(host) > 255 {
		return Peer{}, fmt.Errorf("%w: instance %q: host name of %d bytes", ErrRecord, clip(instance), len(host))
	}
	rec, err := ParseTXT(k, txt)
	if err != nil {
		return Peer{}, fmt.Errorf("instance %q: %w", clip(instance), err)
	}
	p := Peer{Instance: instance, Record: rec, Host: host, Port: port}
	for _, ips := range [][]net.IP{v4, v6} {
		n := 0
		for _, ip := range ips {
			a, ok := netip.AddrFromSlice(ip)
			a = a.Unmap()
			if !ok || n == maxAddrs || a.IsUnspecified() || a.IsMulticast() || slices.Contains(p.Addrs, a) {
				continue
			}
			p.Addrs = append(p.Addrs, a)
			n++
		}
	}
	if len(p.Addrs) == 0 {
		return Peer{}, fmt.Errorf("%w: instance %q: no usable address", ErrRecord, clip(instance))
	}
	return p, nil
}

// refused counts an announcement the browser could not even turn into a peer.
func (t *Table) refused() {
	t.mu.Lock()
	t.stats.Malformed++
	t.mu.Unlock()
}
