package discovery

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/grandcat/zeroconf"
)

// AdvertiserConfig says what to announce where.
type AdvertiserConfig struct {
	// Port is the TCP port the service listens on. Required.
	Port int
	// Interfaces to announce on; nil means every interface that is up and does multicast.
	Interfaces []net.Interface
	// Host is the host name announced (".local." is added); default the system's host
	// name, made DNS-safe.
	Host   string
	Logger *slog.Logger
}

// Advertiser announces one service and keeps its record current.
//
// The library's Server.SetText writes the record while its receive goroutines read it, a
// data race; so a changed record is announced by withdrawing the old service and
// registering a new one, which also makes browsers in the middle of a browse see it at once
// (the goodbye clears their memory of the instance).
type Advertiser struct {
	cfg      AdvertiserConfig
	instance string
	log      *slog.Logger

	mu     sync.Mutex // guards the fields below
	srv    *zeroconf.Server
	txt    []string
	rec    Record
	closed bool
}

// NewAdvertiser validates rec and starts announcing it, under the instance name
// "carebooth-<id>" (a switchboard's ID names it).
func NewAdvertiser(cfg AdvertiserConfig, rec Record) (*Advertiser, error) {
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("advertise: port %d: must be 1-65535", cfg.Port)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interfaces == nil {
		ifs, err := Interfaces(nil)
		if err != nil {
			return nil, fmt.Errorf("advertise: %w", err)
		}
		cfg.Interfaces = ifs
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			h = ""
		}
		cfg.Host = h
	}
	cfg.Host = Label(cfg.Host, "carebooth-"+rec.ID)
	txt, err := rec.TXT()
	if err != nil {
		return nil, err
	}
	a := &Advertiser{cfg: cfg, instance: Label("carebooth-"+rec.ID, "carebooth"), log: cfg.Logger.With("component", "discovery")}
	if err := a.register(rec, txt); err != nil {
		return nil, err
	}
	return a, nil
}

// Instance is the DNS-SD instance name announced.
func (a *Advertiser) Instance() string { return a.instance }

// register must hold a.mu or own a alone.
func (a *Advertiser) register(rec Record, txt []string) error {
	ips := addresses(a.cfg.Interfaces)
	if len(ips) == 0 {
		return fmt.Errorf("advertise %s: no IPv4 or IPv6 address on %s", rec.Kind.Service(), ifaceNames(a.cfg.Interfaces))
	}
	srv, err := zeroconf.RegisterProxy(a.instance, rec.Kind.Service(), Domain, a.cfg.Port, a.cfg.Host, ips, txt, a.cfg.Interfaces)
	if err != nil {
		return fmt.Errorf("advertise %s on %s: %w", rec.Kind.Service(), ifaceNames(a.cfg.Interfaces), err)
	}
	a.srv, a.txt, a.rec = srv, txt, rec
	a.log.Debug("advertising", "service", rec.Kind.Service(), "instance", a.instance, "port", a.cfg.Port, "addrs", ips, "txt", txt)
	return nil
}

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("advertiser closed")

// Update announces rec instead of the current record, if it differs. Its kind and ID
// must stay the same: they name the instance.
func (a *Advertiser) Update(rec Record) error {
	txt, err := rec.TXT()
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	if rec.Kind != a.rec.Kind || rec.ID != a.rec.ID {
		return fmt.Errorf("advertise: update from %s %q to %s %q: kind and ID name the instance and cannot change", a.rec.Kind, a.rec.ID, rec.Kind, rec.ID)
	}
	if slices.Equal(txt, a.txt) {
		return nil
	}
	a.srv.Shutdown()
	if err := a.register(rec, txt); err != nil {
		a.closed = true // nothing is announced any more; say so again on the next Update
		return err
	}
	return nil
}

// Close withdraws the announcement (a goodbye with TTL 0) and stops answering. Idempotent.
func (a *Advertiser) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	a.srv.Shutdown()
	return nil
}

// Label makes s a DNS label of letters, digits and '-', at most 63 bytes, or returns
// def when nothing is left.
func Label(s, def string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.' || r == ' ':
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > maxInstance {
		out = strings.TrimRight(out[:maxInstance], "-")
	}
	if out == "" {
		return def
	}
	return out
}

func ifaceNames(ifs []net.Interface) string {
	names := make([]string, len(ifs))
	for i, ifi := range ifs {
		names[i] = ifi.Name
	}
	return strings.Join(names, ",")
}
