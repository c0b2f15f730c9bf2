package hub

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/signalling"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func TestThrottlePacesEachDeviceAndType(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	th := newThrottle(DeviceLimits{
		Rates: map[signalling.Type]Rate{signalling.TypeHelp: {PerSecond: 1, Burst: 2}},
		Other: Rate{PerSecond: 1, Burst: 1},
	}.withDefaults(), clock)
	ctx := context.Background()
	for i := range 2 {
		if waited, err := th.wait(ctx, "booth-1", signalling.TypeHelp); waited || err != nil {
			t.Fatalf("help %d within the burst: got waited %v, %v; want at once", i+1, waited, err)
		}
	}
	// Another device and another type have buckets of their own.
	if waited, _ := th.wait(ctx, "booth-2", signalling.TypeHelp); waited {
		t.Errorf("another device's first help waited")
	}
	if waited, _ := th.wait(ctx, "booth-1", signalling.TypeEvent); waited {
		t.Errorf("booth-1's first event waited behind its help")
	}
	done := make(chan bool, 1)
	go func() {
		waited, err := th.wait(ctx, "booth-1", signalling.TypeHelp)
		done <- waited && err == nil
	}()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("the third help in a second went through without waiting")
	case <-time.After(50 * time.Millisecond):
	}
	clock.Advance(time.Second)
	if ok := <-done; !ok {
		t.Errorf("the third help: got an error or no wait, want it through after a second")
	}

	// A connection that closes while it waits gets its context's error.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := th.wait(cctx, "booth-1", signalling.TypeHelp); errc <- err }()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Errorf("wait after close: got %v, want context.Canceled", err)
	}
}

func TestLogSamplerCountsWhatItDrops(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	s := newLogSampler(clock, time.Minute, 2)
	var got []string
	for range 5 {
		ok, n := s.allow("refused")
		got = append(got, fmt.Sprintf("%v/%d", ok, n))
	}
	if ok, _ := s.allow("other kind"); !ok {
		t.Errorf("another kind was suppressed by the first")
	}
	clock.Advance(time.Minute)
	ok, n := s.allow("refused")
	got = append(got, fmt.Sprintf("%v/%d", ok, n))
	if g, want := strings.Join(got, " "), "true/0 true/0 false/0 false/0 false/0 true/3"; g != want {
		t.Errorf("allow: got %s, want %s", g, want)
	}
}

// A full send queue holds back snapshots, newest per kind, and disconnects the reader only
// for a message that is not one.
func TestClientSendOverflowKeepsNewestSnapshot(t *testing.T) {
	cancelled := 0
	c := &client{out: make(chan outMsg, 2), overflow: map[string]outMsg{}, ovKick: make(chan struct{}, 1),
		cancel: func() { cancelled++ }, log: slog.New(slog.DiscardHandler)}
	q := func(n int) *signalling.Queue { return &signalling.Queue{Entries: make([]signalling.QueueEntry, n)} }
	help := func(dev string, on bool) *signalling.Help { return &signalling.Help{DeviceID: dev, Requested: on} }
	c.send(signalling.TypeQueue, q(1))
	c.send(signalling.TypeQueue, q(2)) // out is full
	c.send(signalling.TypeQueue, q(3))
	c.send(signalling.TypeHelp, help("booth-1", true))
	c.send(signalling.TypeHelp, help("booth-1", false))
	c.send(signalling.TypeHelp, help("booth-2", true))
	c.send(signalling.TypeQueue, q(4))
	if cancelled != 0 {
		t.Fatalf("snapshots disconnected the client %d times", cancelled)
	}
	<-c.out
	c.send(signalling.TypeQueue, q(5)) // out has room, but an older queue waits: it must not overtake
	if len(c.out) != 1 {
		t.Errorf("a queue overtook the overflow: out holds %d", len(c.out))
	}
	got := map[string]string{}
	for _, m := range c.takeOverflow() {
		switch b := m.body.(type) {
		case *signalling.Queue:
			got["queue"] = fmt.Sprint(len(b.Entries))
		case *signalling.Help:
			got[b.DeviceID] = fmt.Sprint(b.Requested)
		}
	}
	if want := map[string]string{"queue": "5", "booth-1": "false", "booth-2": "true"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("overflow: got %v, want %v", got, want)
	}
	c.send(signalling.TypeEventAck, &signalling.EventAck{Key: "k"})
	c.send(signalling.TypeEventAck, &signalling.EventAck{Key: "k2"})
	if cancelled != 1 {
		t.Errorf("an ack into a full queue: got %d disconnects, want 1", cancelled)
	}
}
