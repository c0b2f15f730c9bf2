package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/jonboulle/clockwork"
)

// Defaults for a Browser.
const (
	// Round is how often a browse starts.
	Round = 8 * time.Second
	// Listen is how long each browse listens for answers.
	Listen = 3 * time.Second
	// entryBuffer is the result channel's size; it is drained as fast as the library fills
	// it whatever the size, but a buffer lets the library's loop keep reading the socket.
	entryBuffer = 32
)

// BrowserConfig says what to browse for and how often; zero values take the defaults.
type BrowserConfig struct {
	// Kinds to browse for; nil means devices and switchboards.
	Kinds []Kind
	// Interfaces to browse on; nil means every interface that is up and does multicast.
	Interfaces []net.Interface
	Round      time.Duration
	Listen     time.Duration
	Clock      clockwork.Clock
	Logger     *slog.Logger
}

// Browser browses the LAN in rounds and keeps a Table of what answered.
type Browser struct {
	cfg   BrowserConfig
	table *Table
	log   *slog.Logger
	zone  string // the interface name link-local addresses are reached through, if only one
	warn  warnLimiter

	mu     sync.Mutex // guards ipType
	ipType zeroconf.IPType
}

// NewBrowser returns a browser that fills table.
func NewBrowser(cfg BrowserConfig, table *Table) (*Browser, error) {
	if cfg.Kinds == nil {
		cfg.Kinds = []Kind{KindDevice, KindSwitchboard}
	}
	for _, k := range cfg.Kinds {
		if k != KindDevice && k != KindSwitchboard {
			return nil, fmt.Errorf("browse: kind %q is neither %q nor %q", k, KindDevice, KindSwitchboard)
		}
	}
	if cfg.Round <= 0 {
		cfg.Round = Round
	}
	if cfg.Listen <= 0 {
		cfg.Listen = Listen
	}
	if cfg.Listen > cfg.Round {
		return nil, fmt.Errorf("browse: listen %s is longer than a round, %s", cfg.Listen, cfg.Round)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interfaces == nil {
		ifs, err := Interfaces(nil)
		if err != nil {
			return nil, fmt.Errorf("browse: %w", err)
		}
		cfg.Interfaces = ifs
	}
	b := &Browser{cfg: cfg, table: table, log: cfg.Logger.With("component", "discovery")}
	if len(cfg.Interfaces) == 1 {
		b.zone = cfg.Interfaces[0].Name
	}
	return b, nil
}

// Run browses until ctx is done. A round that cannot browse (no multicast interface yet,
// say, while Wi-Fi comes up) is logged and retried the next round.
func (b *Browser) Run(ctx context.Context) error {
	for {
		if err := b.BrowseOnce(ctx); err != nil && ctx.Err() == nil {
			if ok, n := b.warn.allow(b.cfg.Clock.Now()); ok {
				b.log.Warn("mDNS browse", "err", err, "suppressed", n)
			}
		}
		b.table.Expire()
		select {
		case <-ctx.Done():
			return nil
		case <-b.cfg.Clock.After(b.cfg.Round - b.cfg.Listen):
		}
	}
}

// BrowseOnce browses every kind at once for the listen time, each with a resolver of its
// own, and records what answered. It returns when every resolver has closed its channel.
func (b *Browser) BrowseOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Listen)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(b.cfg.Kinds))
	for i, k := range b.cfg.Kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.browse(ctx, k)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// browse runs one browse of kind k until ctx ends.
func (b *Browser) browse(ctx context.Context, k Kind) error {
	r, err := b.resolver()
	if err != nil {
		return err
	}
	entries := make(chan *zeroconf.ServiceEntry, entryBuffer)
	// The library closes entries when its loop ends, which it does when ctx ends or, on a
	// failed first query, at once. Until then every entry must be read, or its loop blocks
	// and its goroutines and sockets leak.
	berr := r.Browse(ctx, k.Service(), Domain, entries)
	for e := range entries {
		b.observe(k, e)
	}
	if berr != nil {
		return fmt.Errorf("browse %s: %w", k.Service(), berr)
	}
	return nil
}

func (b *Browser) observe(k Kind, e *zeroconf.ServiceEntry) {
	p, err := peerFrom(k, e.Instance, e.HostName, e.Port, e.Text, e.AddrIPv4, e.AddrIPv6)
	if err == nil {
		p.Addrs = b.zoned(p.Addrs)
		err = b.table.Observe(p)
	} else {
		b.table.refused()
	}
	if err != nil {
		if ok, n := b.warn.allow(b.cfg.Clock.Now()); ok {
			b.log.Warn("mDNS announcement ignored", "service", k.Service(), "err", err, "suppressed", n)
		}
	}
}

// zoned gives link-local IPv6 addresses the browsing interface as their zone, so they
// can be dialled, when there is one interface to give.
func (b *Browser) zoned(addrs []netip.Addr) []netip.Addr {
	if b.zone == "" {
		return addrs
	}
	for i, a := range addrs {
		if a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" {
			addrs[i] = a.WithZone(b.zone)
		}
	}
	return addrs
}

// resolver joins the mDNS groups on the browser's interfaces: IPv4 and IPv6 where both
// work, either alone where only one does (a network without IPv6, a loopback without IPv6
// multicast). The family that worked is remembered: the library leaks the IPv4 socket
// when IPv6 fails, so the failing combination is not tried every round.
func (b *Browser) resolver() (*zeroconf.Resolver, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ipType != 0 {
		r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(b.cfg.Interfaces), zeroconf.SelectIPTraffic(b.ipType))
		if err == nil {
			return r, nil
		}
		b.ipType = 0
	}
	var errs []error
	for _, ipt := range []zeroconf.IPType{zeroconf.IPv4AndIPv6, zeroconf.IPv4, zeroconf.IPv6} {
		r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(b.cfg.Interfaces), zeroconf.SelectIPTraffic(ipt))
		if err == nil {
			b.ipType = ipt
			return r, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("join mDNS on %s: %w", ifaceNames(b.cfg.Interfaces), errors.Join(errs...))
}

// warnLimiter lets one warning through a minute and counts the rest: a flood of hostile
// announcements must not become a flood of log lines.
type warnLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (w *warnLimiter) allow(now time.Time) (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.last.IsZero() && now.Sub(w.last) < time.Minute {
		w.suppressed++
		return false, 0
	}
	n := w.suppressed
	w.last, w.suppressed = now, 0
	return true, n
}
