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

// WaitSwitchboard waits until ChooseSwitchboard finds one in t that has stood for settle (so
// that a second CA, had it been there, would have shown itself too), and returns it.
// While it waits, problem is told of each new reason it cannot choose (nil when it can).
func WaitSwitchboard(ctx context.Context, t *Table, pin string, settle time.Duration, clock clockwork.Clock, problem func(error)) (Peer, error) {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	var last string
	var since time.Time
	for {
		changed := t.Changed()
		p, err := ChooseSwitchboard(t.Peers(KindSwitchboard), pin)
		if msg := fmt.Sprint(err); msg != last && problem != nil {
			last = msg
			problem(err)
		}
		if err == nil {
			if since.IsZero() {
				since = clock.Now()
			}
			if clock.Since(since) >= settle {
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
