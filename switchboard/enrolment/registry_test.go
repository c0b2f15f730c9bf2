package enrolment

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/provisioning/enrol"
)

func newKey(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

var (
	req  = enrol.Request{Name: "library-booth-1", Version: "1.0"}
	here = netip.MustParseAddr("192.0.2.10")
)

func TestRequestKeepsOneCodePerDevice(t *testing.T) {
	clock := clockwork.NewFakeClock()
	r := New(clock)
	k1, k2 := newKey(t), newKey(t)
	p1, err := r.Request(k1, req, here)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.Request(k1, req, here)
	if again.Code != p1.Code {
		t.Errorf("the same device asking again: got %s, want its code %s", again.Code, p1.Code)
	}
	p2, _ := r.Request(k2, req, here)
	if p2.Code == p1.Code {
		t.Error("two devices: got the same code")
	}
	if got := p1.Expires.Sub(p1.Requested); got != enrol.CodeLifetime {
		t.Errorf("lifetime: got %s, want %s", got, enrol.CodeLifetime)
	}
	clock.Advance(enrol.CodeLifetime)
	if _, ok := r.Lookup(k1); ok {
		t.Error("after 24 hours: still pending, want expired")
	}
	if err := r.Approve(p1.Code.String(), here, func(Pending) error { return nil }); !errors.Is(err, enrol.ErrNotPending) {
		t.Errorf("approving an expired code: got %v, want ErrNotPending", err)
	}
	fresh, _ := r.Request(k1, req, here)
	if fresh.Code == p1.Code {
		t.Error("asking after expiry: got the old code, want a new one")
	}
	if _, err := r.Request(newKey(t), enrol.Request{Name: "x\n", Version: "1"}, here); err == nil {
		t.Error("a request with a control character: accepted, want refused")
	}
}

func TestApproveIsSingleUse(t *testing.T) {
	r := New(clockwork.NewFakeClock())
	key := newKey(t)
	p, _ := r.Request(key, req, here)
	var got Pending
	if err := r.Approve("  "+string(p.Code[:4])+"-"+string(p.Code[4:])+" ", here, func(q Pending) error { got = q; return nil }); err != nil {
		t.Fatal(err)
	}
	if !got.Key.Equal(key) || got.Name != req.Name {
		t.Errorf("approved: got %+v, want the device's key and name", got)
	}
	if err := r.Approve(p.Code.String(), here, func(Pending) error { return nil }); !errors.Is(err, enrol.ErrNotPending) {
		t.Errorf("the code again: got %v, want ErrNotPending", err)
	}
	if _, ok := r.Lookup(key); ok {
		t.Error("after approval: the device is still pending")
	}

	// An approval whose recording fails leaves the code pending.
	p, _ = r.Request(newKey(t), req, here)
	if err := r.Approve(p.Code.String(), here, func(Pending) error { return errors.New("disk full") }); err == nil {
		t.Fatal("failed recording: got nil, want the error")
	}
	if err := r.Approve(p.Code.String(), here, func(Pending) error { return nil }); err != nil {
		t.Errorf("after a failed recording: got %v, want the code still approvable", err)
	}
}

func TestApproveRace(t *testing.T) {
	r := New(clockwork.NewFakeClock())
	p, _ := r.Request(newKey(t), req, here)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if r.Approve(p.Code.String(), here, func(Pending) error { return nil }) == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("20 approvals at once: got %d, want 1", wins.Load())
	}
}

func TestGuessingIsLimited(t *testing.T) {
	clock := clockwork.NewFakeClock()
	r := New(clock)
	p, _ := r.Request(newKey(t), req, here)
	attacker := netip.MustParseAddr("203.0.113.5")
	for i := range MaxMissesPerSource {
		if err := r.Approve(wrong(p.Code, i), attacker, ok); !errors.Is(err, enrol.ErrNotPending) {
			t.Fatalf("guess %d: got %v, want ErrNotPending", i, err)
		}
	}
	if err := r.Approve(p.Code.String(), attacker, ok); !errors.Is(err, ErrGuessing) {
		t.Fatalf("the right code after %d misses from one source: got %v, want ErrGuessing", MaxMissesPerSource, err)
	}
	// A typo is not a guess: it names no code.
	if err := r.Approve("K7QM", here, ok); !errors.Is(err, enrol.ErrBadCode) {
		t.Errorf("a short code: got %v, want ErrBadCode", err)
	}
	clock.Advance(MissWindow)
	if err := r.Approve(p.Code.String(), attacker, ok); err != nil {
		t.Errorf("after the window: got %v, want approved", err)
	}

	// Spread over many sources, the total limit holds.
	p, _ = r.Request(newKey(t), req, here)
	for i := range MaxMisses {
		src := netip.AddrFrom4([4]byte{198, 51, byte(i / 250), byte(i % 250)})
		r.Approve(wrong(p.Code, i), src, ok)
	}
	if err := r.Approve(p.Code.String(), here, ok); !errors.Is(err, ErrGuessing) {
		t.Errorf("the right code after %d misses from many sources: got %v, want ErrGuessing", MaxMisses, err)
	}
}

func TestPendingIsBounded(t *testing.T) {
	r := New(clockwork.NewFakeClock())
	for i := range MaxPendingPerSource {
		if _, err := r.Request(newKey(t), req, here); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, err := r.Request(newKey(t), req, here); !errors.Is(err, ErrTooMany) {
		t.Errorf("one source over its share: got %v, want ErrTooMany", err)
	}
	for i := 0; len(r.List()) < MaxPending; i++ {
		r.Request(newKey(t), req, netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i % 250)}))
	}
	if _, err := r.Request(newKey(t), req, netip.MustParseAddr("10.9.9.9")); !errors.Is(err, ErrTooMany) {
		t.Errorf("%d pending: got %v, want ErrTooMany", MaxPending, err)
	}
}

func ok(Pending) error { return nil }

// wrong returns a well-formed code that is not c.
func wrong(c enrol.Code, i int) string {
	s := strconv.Itoa(100000000 + i)[1:]
	if enrol.Code(s) == c {
		s = "ZZZZZZZZ"
	}
	return s
}
