package discovery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func sbPeer(instance, ca string, first time.Time) Peer {
	r := switchboardRecord()
	r.CA = ca
	p := testPeer(instance, r)
	p.FirstSeen = first
	return p
}

const otherCA = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func TestChooseSwitchboard(t *testing.T) {
	siteCA := switchboardRecord().CA
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	site := sbPeer("carebooth-sb", siteCA, t0)
	site2 := sbPeer("carebooth-sb2", siteCA, t0.Add(time.Minute))
	rogue := sbPeer("carebooth-rogue", otherCA, t0.Add(-time.Hour))
	cases := []struct {
		name  string
		peers []Peer
		pin   string
		want  string
		err   error
	}{
		{"none", nil, "", "", ErrNoSwitchboard},
		{"one", []Peer{site}, "", site.Instance, nil},
		{"two of one CA: the longest known", []Peer{site2, site}, "", site.Instance, nil},
		{"a rogue beside the site's, nothing pinned", []Peer{site, rogue}, "", "", ErrAmbiguous},
		{"a rogue beside the site's, pinned", []Peer{rogue, site}, siteCA, site.Instance, nil},
		{"only a rogue, pinned", []Peer{rogue}, siteCA, "", ErrNoSwitchboard},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ChooseSwitchboard(c.peers, c.pin)
			if !errors.Is(err, c.err) || got.Instance != c.want {
				t.Errorf("got %q, %v; want %q, %v", got.Instance, err, c.want, c.err)
			}
		})
	}
}

// TestWaitSwitchboardSettles: a switchboard found is not taken until it has stood for the
// settle time, and a rogue that shows up meanwhile stops the choice.
func TestWaitSwitchboardSettles(t *testing.T) {
	clock := clockwork.NewFakeClock()
	tab := NewTable(TableConfig{Clock: clock, Expiry: time.Hour})
	problems := make(chan error, 10)
	done := make(chan Peer, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		p, err := WaitSwitchboard(ctx, tab, Wait{Settle: 3 * time.Second, Clock: clock, Problem: func(err error) { problems <- err }})
		if err == nil {
			done <- p
		}
	}()
	if err := <-problems; !errors.Is(err, ErrNoSwitchboard) {
		t.Fatalf("first problem: got %v, want ErrNoSwitchboard", err)
	}
	tab.Observe(testPeer("carebooth-sb", switchboardRecord()))
	if err := <-problems; err != nil {
		t.Fatalf("with the site's switchboard: got %v, want nil", err)
	}
	r := switchboardRecord()
	r.CA = otherCA
	tab.Observe(testPeer("carebooth-rogue", r))
	if err := <-problems; !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("with a rogue: got %v, want ErrAmbiguous", err)
	}
	for range 20 {
		clock.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
	select {
	case p := <-done:
		t.Fatalf("chose %q with a rogue present", p.Instance)
	default:
	}
	cancel()
}

func TestWaitSwitchboardReturns(t *testing.T) {
	clock := clockwork.NewFakeClock()
	tab := NewTable(TableConfig{Clock: clock, Expiry: time.Hour})
	tab.Observe(testPeer("carebooth-sb", switchboardRecord()))
	done := make(chan Peer, 1)
	go func() {
		p, _ := WaitSwitchboard(context.Background(), tab, Wait{Pin: switchboardRecord().CA, Settle: 3 * time.Second, Clock: clock})
		done <- p
	}()
	var advanced time.Duration
	for {
		select {
		case p := <-done:
			if p.Instance != "carebooth-sb" {
				t.Fatalf("got %q, want carebooth-sb", p.Instance)
			}
			if advanced < 3*time.Second {
				t.Fatalf("returned after %s, before the 3 s settle", advanced)
			}
			return
		case <-time.After(20 * time.Millisecond):
			if advanced > time.Minute {
				t.Fatal("no switchboard chosen")
			}
			clock.Advance(250 * time.Millisecond)
			advanced += 250 * time.Millisecond
		}
	}
}
