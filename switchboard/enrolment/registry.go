package enrolment

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/provisioning/enrol"
)

// Limits.
const (
	MaxPending          = 1000
	MaxPendingPerSource = 20
	MaxMissesPerSource  = 10
	MaxMisses           = 100
	MissWindow          = 15 * time.Minute
)

// Errors.
var (
	// ErrTooMany refuses a request when too many codes are pending (in all or from its
	// source); the device asks again later.
	ErrTooMany = errors.New("too many devices are waiting to be approved; try again later")
	// ErrGuessing refuses an approval while too many wrong codes were tried.
	ErrGuessing = errors.New("too many wrong activation codes were tried; wait and try again")
)

// Pending is a device waiting for approval.
type Pending struct {
	Code      enrol.Code
	Key       ed25519.PublicKey
	Name      string // what the device calls itself
	Version   string
	Source    netip.Addr // where it asked from, for the approving admin
	Requested time.Time
	Expires   time.Time
}

// Registry holds the pending codes. Safe for concurrent use.
type Registry struct {
	clock clockwork.Clock

	mu     sync.Mutex
	byCode map[enrol.Code]*Pending
	byKey  map[string]*Pending // by string(public key)
	misses missCounter
}

// New returns an empty registry.
func New(clock clockwork.Clock) *Registry {
	return &Registry{clock: clock, byCode: map[enrol.Code]*Pending{}, byKey: map[string]*Pending{},
		misses: missCounter{bySource: map[netip.Addr]*window{}}}
}

// Request gives the device with key a code: the one it has while that is pending, else a
// new one.
func (r *Registry) Request(key ed25519.PublicKey, req enrol.Request, source netip.Addr) (Pending, error) {
	if err := req.Validate(); err != nil {
		return Pending{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	r.expire(now)
	if p := r.byKey[string(key)]; p != nil {
		p.Name, p.Version = req.Name, req.Version
		return *p, nil
	}
	if len(r.byCode) >= MaxPending {
		return Pending{}, ErrTooMany
	}
	n := 0
	for _, p := range r.byCode {
		if p.Source == source {
			n++
		}
	}
	if n >= MaxPendingPerSource {
		return Pending{}, ErrTooMany
	}
	code := enrol.NewCode()
	for r.byCode[code] != nil {
		code = enrol.NewCode()
	}
	p := &Pending{Code: code, Key: append(ed25519.PublicKey(nil), key...), Name: req.Name, Version: req.Version,
		Source: source, Requested: now, Expires: now.Add(enrol.CodeLifetime)}
	r.byCode[code], r.byKey[string(key)] = p, p
	return *p, nil
}

// Lookup returns the pending enrolment of key, if it has one.
func (r *Registry) Lookup(key ed25519.PublicKey) (Pending, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(r.clock.Now())
	p := r.byKey[string(key)]
	if p == nil {
		return Pending{}, false
	}
	return *p, true
}

// List returns every pending enrolment, for the admin page.
func (r *Registry) List() []Pending {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(r.clock.Now())
	out := make([]Pending, 0, len(r.byCode))
	for _, p := range r.byCode {
		out = append(out, *p)
	}
	return out
}

// Approve takes the pending enrolment of code (as a person typed it) out of the registry
// and hands it to approve, which records the device; if approve fails the code stays
// pending. A code that matches nothing counts as a miss for source; while the misses
// are over the limits, nothing is looked up at all.
func (r *Registry) Approve(code string, source netip.Addr, approve func(Pending) error) error {
	r.mu.Lock()
	now := r.clock.Now()
	r.expire(now)
	if r.misses.over(source, now) {
		r.mu.Unlock()
		return ErrGuessing
	}
	c, err := enrol.ParseCode(code)
	if err != nil {
		r.mu.Unlock()
		return err // a typo, not a guess: it names no code at all
	}
	p := r.byCode[c]
	if p == nil {
		r.misses.add(source, now)
		r.mu.Unlock()
		return enrol.ErrNotPending
	}
	// Taken out before approve runs, so two admins approving at once cannot both win.
	delete(r.byCode, c)
	delete(r.byKey, string(p.Key))
	r.mu.Unlock()
	if err := approve(*p); err != nil {
		r.mu.Lock()
		if r.byCode[c] == nil && r.byKey[string(p.Key)] == nil {
			r.byCode[c], r.byKey[string(p.Key)] = p, p
		}
		r.mu.Unlock()
		return fmt.Errorf("approve %s: %w", c, err)
	}
	return nil
}

// expire forgets the codes past their time. Must hold mu.
func (r *Registry) expire(now time.Time) {
	for c, p := range r.byCode {
		if !now.Before(p.Expires) {
			delete(r.byCode, c)
			delete(r.byKey, string(p.Key))
		}
	}
}

// missCounter counts wrong codes in fixed windows, per source and in total.
type missCounter struct {
	total    window
	bySource map[netip.Addr]*window
}

type window struct {
	n     int
	reset time.Time
}

func (w *window) at(now time.Time) *window {
	if !now.Before(w.reset) {
		w.n, w.reset = 0, now.Add(MissWindow)
	}
	return w
}

func (m *missCounter) over(source netip.Addr, now time.Time) bool {
	if m.total.at(now).n >= MaxMisses {
		return true
	}
	w := m.bySource[source]
	return w != nil && w.at(now).n >= MaxMissesPerSource
}

func (m *missCounter) add(source netip.Addr, now time.Time) {
	m.total.at(now).n++
	w := m.bySource[source]
	if w == nil {
		// Bounded: at most MaxMisses sources add a miss in a window before over refuses
		// them all; forget those whose windows are over.
		if len(m.bySource) >= MaxMisses {
			for a, w := range m.bySource {
				if !now.Before(w.reset) {
					delete(m.bySource, a)
				}
			}
		}
		w = &window{}
		m.bySource[source] = w
	}
	w.at(now).n++
}
