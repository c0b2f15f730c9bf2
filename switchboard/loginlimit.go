package switchboard

import (
	"net/netip"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// loginLimits tune the login limiter; defaultLoginLimits are the switchboard's.
type loginLimits struct {
	// FreeFails is how many failed logins an account may have before each further
	// attempt waits: BaseDelay after the FreeFails-th, doubling up to MaxDelay.
	FreeFails int
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Memory is how long an account's failures are remembered after its last attempt.
	Memory time.Duration
	// PerAddress attempts may fail from one address (an IPv6 /64) in each Window.
	PerAddress int
	Window     time.Duration
	// MaxKeys bounds how many accounts, and how many addresses, are tracked at once.
	MaxKeys int
}

var defaultLoginLimits = loginLimits{
	FreeFails: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Memory: 15 * time.Minute,
	PerAddress: 50, Window: 15 * time.Minute,
	MaxKeys: 10000,
}

// loginLimiter slows password guessing. An attempt is reserved before the password is
// verified, under one lock for its account and its address, so parallel guesses cannot
// all slip past a check that only a finished failure would have tripped; a login that
// succeeds gives its reservation back.
//
// Per account it is a backoff, not a lock: a stranger's guesses make the next attempt
// wait at most MaxDelay, so the owner, from anywhere, gets in within a minute of the
// last one. Per address it is a cap per window. It slows guessing from one place; it is
// not a defence against a botnet, and an attacker who spends one guess per delay keeps
// contending with the owner for the next slot.
type loginLimiter struct {
	clock clockwork.Clock
	lim   loginLimits

	mu        sync.Mutex
	accounts  map[string]*accountFails
	addrs     map[netip.Prefix]*addrWindow
	nextSweep time.Time
}

// accountFails counts an account's failed and in-flight attempts.
type accountFails struct {
	n    int
	next time.Time // no attempt before this once n >= FreeFails
	last time.Time
}

// addrWindow counts an address's failed and in-flight attempts in a fixed window.
type addrWindow struct {
	n     int
	reset time.Time
}

// loginAttempt is a reservation: give it back with succeeded or cancelled.
type loginAttempt struct {
	account string
	addr    netip.Prefix
	hasAddr bool
}

func newLoginLimiter(clock clockwork.Clock, lim loginLimits) *loginLimiter {
	return &loginLimiter{clock: clock, lim: lim, accounts: map[string]*accountFails{}, addrs: map[netip.Prefix]*addrWindow{}}
}

// addrKey is what one address counts under: an IPv4 address, or the /64 of an IPv6 one
// (one household or host gets a whole /64).
func addrKey(ip string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32), true
	}
	p, _ := a.Prefix(64)
	return p, true
}

// accountKey bounds what an unauthenticated caller makes the limiter keep: no username
// is longer than 64 bytes, so longer ones cannot be real and may share a key.
func accountKey(username string) string {
	if len(username) > 64 {
		return username[:64]
	}
	return username
}

// reserve counts an attempt for username from ip before its password is checked. It
// returns nil and how long to wait when the attempt must not be made.
func (l *loginLimiter) reserve(ip, username string) (*loginAttempt, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if !now.Before(l.nextSweep) {
		l.sweep(now)
		l.nextSweep = now.Add(time.Minute)
	}
	att := &loginAttempt{account: accountKey(username)}
	att.addr, att.hasAddr = addrKey(ip)

	acc := l.accounts[att.account]
	if acc != nil && now.Sub(acc.last) >= l.lim.Memory {
		acc.n, acc.next = 0, time.Time{}
	}
	var win *addrWindow
	if att.hasAddr {
		win = l.addrs[att.addr]
		if win != nil && !now.Before(win.reset) {
			win.n, win.reset = 0, now.Add(l.lim.Window)
		}
	}
	wait := time.Duration(0)
	// next is set only once n reaches FreeFails, and a reservation given back leaves it:
	// a right password among a burst of guesses frees its slot after the wait, not at
	// once, so the burst cannot reach the check more than FreeFails times.
	if acc != nil && now.Before(acc.next) {
		wait = acc.next.Sub(now)
	}
	if win != nil && win.n >= l.lim.PerAddress {
		wait = max(wait, win.reset.Sub(now))
	}
	if wait > 0 {
		return nil, wait
	}

	if acc == nil {
		makeRoom(l, now, l.accounts, func(a *accountFails) time.Time { return a.last })
		acc = &accountFails{}
		l.accounts[att.account] = acc
	}
	acc.n++
	acc.last = now
	if acc.n >= l.lim.FreeFails {
		acc.next = now.Add(l.delay(acc.n - l.lim.FreeFails))
	}
	if att.hasAddr {
		if win == nil {
			makeRoom(l, now, l.addrs, func(w *addrWindow) time.Time { return w.reset })
			win = &addrWindow{reset: now.Add(l.lim.Window)}
			l.addrs[att.addr] = win
		}
		win.n++
	}
	return att, 0
}

// delay is the wait after the k-th failure past FreeFails (k from 0).
func (l *loginLimiter) delay(k int) time.Duration {
	d := l.lim.BaseDelay
	for ; k > 0 && d < l.lim.MaxDelay; k-- {
		d *= 2
	}
	return min(d, l.lim.MaxDelay)
}

// succeeded gives back the reservation of an attempt whose password was right. The
// account's other failures stand: the owner getting in does not give a stranger who is
// guessing a fresh set of free attempts.
func (l *loginLimiter) succeeded(att *loginAttempt) { l.giveBack(att) }

// cancelled gives back the reservation of an attempt that never got to the password
// check (the store failed).
func (l *loginLimiter) cancelled(att *loginAttempt) { l.giveBack(att) }

func (l *loginLimiter) giveBack(att *loginAttempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if acc := l.accounts[att.account]; acc != nil && acc.n > 0 {
		acc.n--
	}
	if att.hasAddr {
		if win := l.addrs[att.addr]; win != nil && win.n > 0 {
			win.n--
		}
	}
}

// sweep forgets what no longer limits anything. Must hold mu.
func (l *loginLimiter) sweep(now time.Time) {
	for k, a := range l.accounts {
		if now.Sub(a.last) >= l.lim.Memory {
			delete(l.accounts, k)
		}
	}
	for k, w := range l.addrs {
		if !now.Before(w.reset) {
			delete(l.addrs, k)
		}
	}
}

// makeRoom keeps m under MaxKeys before an insert: expired entries go first, then the
// stalest ones (by at). Evicting forgets failures, which favours an attacker with very
// many addresses over refusing everyone's logins once the table is full. Must hold l.mu.
func makeRoom[K comparable, V any](l *loginLimiter, now time.Time, m map[K]V, at func(V) time.Time) {
	if len(m) < l.lim.MaxKeys {
		return
	}
	l.sweep(now)
	l.nextSweep = now.Add(time.Minute)
	for len(m) > 0 && len(m) >= l.lim.MaxKeys {
		var (
			oldest K
			when   time.Time
		)
		first := true
		for k, v := range m {
			if t := at(v); first || t.Before(when) {
				oldest, when, first = k, t, false
			}
		}
		delete(m, oldest)
	}
}
