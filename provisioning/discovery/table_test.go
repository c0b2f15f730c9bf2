package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
	"github.com/jonboulle/clockwork"
)

func testPeer(instance string, r Record) Peer {
	return Peer{Instance: instance, Record: r, Host: instance + ".local.", Port: 8443, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.7")}}
}

func TestTableExpiresWhatStopsAnswering(t *testing.T) {
	clock := clockwork.NewFakeClock()
	tab := NewTable(TableConfig{Clock: clock})
	if err := tab.Observe(testPeer("carebooth-dev-1", boothRecord())); err != nil {
		t.Fatal(err)
	}
	sb := testPeer("carebooth-switchboard", switchboardRecord())
	if err := tab.Observe(sb); err != nil {
		t.Fatal(err)
	}
	changed := tab.Changed()
	clock.Advance(Expiry / 2)
	if err := tab.Observe(sb); err != nil { // the switchboard answers again; the booth does not
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("a refresh that changes nothing was announced as a change")
	default:
	}
	clock.Advance(Expiry/2 + time.Millisecond)
	if got := tab.Peers(KindDevice); len(got) != 0 {
		t.Errorf("devices after %s unanswered: got %d, want 0", Expiry, len(got))
	}
	if got := tab.Peers(KindSwitchboard); len(got) != 1 {
		t.Errorf("switchboards: got %d, want the refreshed one", len(got))
	}
	select {
	case <-changed:
	default:
		t.Error("the expiry was not announced as a change")
	}
	if Expiry+Round/2 > 30*time.Second {
		t.Errorf("Expiry %s with rounds of %s: a departed device would be shown for over 30 s", Expiry, Round)
	}
}

func TestTableRecordChange(t *testing.T) {
	tab := NewTable(TableConfig{Clock: clockwork.NewFakeClock()})
	p := testPeer("carebooth-dev-1", boothRecord())
	tab.Observe(p)
	changed := tab.Changed()
	p.State = signalling.StateHelp
	if err := tab.Observe(p); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("a state change was not announced")
	}
	if got := tab.Peers(KindDevice); len(got) != 1 || got[0].State != signalling.StateHelp {
		t.Errorf("got %+v, want one peer in state help", got)
	}
}

// TestTableFlood: a flood of new names fills the table to its bound and no further, the
// peers already in it stay and keep being refreshed, and the switchboards have room of
// their own.
func TestTableFlood(t *testing.T) {
	clock := clockwork.NewFakeClock()
	tab := NewTable(TableConfig{Clock: clock, MaxDevices: 50, MaxSwitchboards: 2})
	legit := testPeer("carebooth-dev-1", boothRecord())
	tab.Observe(legit)
	full := 0
	for i := range 5000 {
		r := boothRecord()
		r.ID = fmt.Sprintf("flood-%d", i)
		if err := tab.Observe(testPeer(r.ID, r)); errors.Is(err, ErrFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got := tab.Len(KindDevice); got != 50 {
		t.Errorf("devices held: got %d, want the bound, 50", got)
	}
	if full != 5000-49 || tab.Stats().Full != uint64(full) {
		t.Errorf("refused as full: got %d (stats %d), want %d", full, tab.Stats().Full, 5000-49)
	}
	if err := tab.Observe(legit); err != nil {
		t.Errorf("refresh of a peer already held: %v", err)
	}
	if err := tab.Observe(testPeer("carebooth-switchboard", switchboardRecord())); err != nil {
		t.Errorf("the switchboard during a device flood: %v", err)
	}
	// The flood stops; what it left expires, and the table has room again.
	clock.Advance(Expiry / 2)
	tab.Observe(legit)
	clock.Advance(Expiry/2 + time.Millisecond)
	if got := tab.Peers(KindDevice); len(got) != 1 || got[0].Instance != legit.Instance {
		t.Errorf("after the flood expired: got %d devices, want the legitimate one", len(got))
	}
}

// TestTableSpoofedID: two instances claiming one device ID are both kept as claims; the
// table never decides which is genuine.
func TestTableSpoofedID(t *testing.T) {
	tab := NewTable(TableConfig{Clock: clockwork.NewFakeClock()})
	tab.Observe(testPeer("carebooth-dev-1", boothRecord()))
	spoof := testPeer("carebooth-dev-1-2", boothRecord())
	spoof.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.66")}
	tab.Observe(spoof)
	if got := tab.Claiming("dev-1"); len(got) != 2 {
		t.Errorf("claims of dev-1: got %d, want 2 (both, for credentials to decide)", len(got))
	}
}

func TestTableRefusesInvalid(t *testing.T) {
	tab := NewTable(TableConfig{Clock: clockwork.NewFakeClock()})
	bad := boothRecord()
	bad.State = "asleep"
	if err := tab.Observe(testPeer("x", bad)); !errors.Is(err, ErrRecord) {
		t.Errorf("got %v, want ErrRecord", err)
	}
	if tab.Len(KindDevice) != 0 || tab.Stats().Malformed != 1 {
		t.Errorf("got %d held, %d counted malformed; want 0 and 1", tab.Len(KindDevice), tab.Stats().Malformed)
	}
}

func TestPeerFrom(t *testing.T) {
	txt, _ := boothRecord().TXT()
	v4 := []net.IP{net.ParseIP("192.0.2.1"), net.ParseIP("192.0.2.1"), net.ParseIP("0.0.0.0"), net.ParseIP("224.0.0.251")}
	for range 10 {
		v4 = append(v4, net.ParseIP("192.0.2.9"))
	}
	v6 := []net.IP{net.ParseIP("fe80::1"), net.ParseIP("2001:db8::1")}
	p, err := peerFrom(KindDevice, "carebooth-dev-1", "h.local.", 8443, txt, v4, v6)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.1:8443", "192.0.2.9:8443", "[fe80::1]:8443", "[2001:db8::1]:8443"}
	if got := p.Endpoints(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("endpoints: got %v, want %v (deduplicated, no unspecified or multicast)", got, want)
	}
	for name, c := range map[string]struct {
		instance string
		port     int
		v4       []net.IP
	}{
		"no instance":   {"", 1, v4},
		"long instance": {string(make([]byte, 64)), 1, v4},
		"port 0":        {"i", 0, v4},
		"port too big":  {"i", 70000, v4},
		"no address":    {"i", 1, []net.IP{net.ParseIP("0.0.0.0")}},
	} {
		if _, err := peerFrom(KindDevice, c.instance, "h", c.port, txt, c.v4, nil); !errors.Is(err, ErrRecord) {
			t.Errorf("%s: got %v, want ErrRecord", name, err)
		}
	}
}
