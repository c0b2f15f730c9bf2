package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// Errors of ChooseSwitchboard.
var (
	// ErrNoSwitchboard: no switchboard (or none with the pinned CA) answers.
	ErrNoSwitchboard = errors.New("no switchboard found on this network")
	// ErrAmbiguous: switchboards with different device CAs answer, and nothing is pinned.
	ErrAmbiguous = errors.New("switchboards with different device CAs answer on this network")
)

// ChooseSwitchboard picks the switchboard to use among peers. With a pin, only a switchboard
// whose record names that CA will do: the rest belong to someone else, or are rogues, and
// are ignored. Without one, every switchboard answering must name the same CA: with two,
// a device cannot tell the site's from a rogue, and refuses to guess. Among equals the
// longest known wins, so a newcomer does not take over. The choice is a claim still: the
// caller checks the switchboard's TLS chain against the CA.
func ChooseSwitchboard(peers []Peer, pin string) (Peer, error) {
	var ok []Peer
	cas := map[string]bool{}
	for _, p := range peers {
		if p.Kind != KindSwitchboard {
			continue
		}
		if pin == "" || p.CA == pin {
			ok = append(ok, p)
			cas[p.CA] = true
		}
	}
	if len(ok) == 0 {
		if pin != "" && len(peers) > 0 {
			return Peer{}, fmt.Errorf("%w: %d answer, none with the pinned device CA %s", ErrNoSwitchboard, len(peers), pin)
		}
		return Peer{}, ErrNoSwitchboard
	}
	if len(cas) > 1 {
		list := make([]string, 0, len(cas))
		for ca := range cas {
			list = append(list, ca)
		}
		slices.Sort(list)
		return Peer{}, fmt.Errorf("%w (%s): set switchboard.ca_fingerprint to the site's to choose", ErrAmbiguous, strings.Join(list, ", "))
	}
	slices.SortStableFunc(ok, func(a, b Peer) int { return a.FirstSeen.Compare(b.FirstSeen) })
	return ok[0], nil
}

// Wait says how WaitSwitchboard chooses.
type Wait struct {
	// Pin is the device CA the switchboard must name; "" for any one CA.
	Pin string
	// Settle is how long a choice must have stood before it is taken, so that a second CA,
	// had it been there, would have shown itself too.
	Settle time.Duration
	// Skip, if set, leaves out switchboards already found wanting (one that named the
	// site's CA and served with another).
	Skip  func(Peer) bool
	Clock clockwork.Clock
	// Problem, if set, is told of each new reason no switchboard can be chosen (nil once
	// one can).
	Problem func(error)
}

// WaitSwitchboard waits until ChooseSwitchboard finds one in t that has stood for w.Settle,
// and returns it.
func WaitSwitchboard(ctx context.Context, t *Table, w Wait) (Peer, error) {
	clock := w.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	var last string
	var since time.Time
	for {
		changed := t.Changed()
		peers := t.Peers(KindSwitchboard)
		if w.Skip != nil {
			peers = slices.DeleteFunc(peers, w.Skip)
		}
		p, err := ChooseSwitchboard(peers, w.Pin)
		if msg := fmt.Sprint(err); msg != last && w.Problem != nil {
			last = msg
			w.Problem(err)
		}
		if err == nil {
			if since.IsZero() {
				since = clock.Now()
			}
			if clock.Since(since) >= w.Settle {
				return p, nil
			}
		} else {
			since = time.Time{}
		}
		select {
		case <-ctx.Done():
			return Peer{}, ctx.Err()
		case <-changed:
		case <-clock.After(250 * time.Millisecond):
		}
	}
}
