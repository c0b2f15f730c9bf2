package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/hw/screen"
	"github.com/carebooth/carebooth/provisioning/discovery"
	"github.com/carebooth/carebooth/switchboard/deviceca"
)

// urlFile is where a booth that finds its switchboard by mDNS remembers the address found.
const urlFile = "switchboard-url"

// Timing of the search for a switchboard.
const (
	// settleFor is how long a switchboard must have been the only choice before it is taken,
	// so that a second CA on the LAN (a rogue) shows itself first: a few browse rounds.
	settleFor = 2 * discovery.Listen
	// rememberedAfter is how long an enrolled booth looks before it starts against the
	// address it found last time (the switchboard may be down; the booth runs its cached
	// schedule meanwhile).
	rememberedAfter = 20 * time.Second
)

// found is the switchboard mDNS found: its base URL, and the device CA it must hold.
type found struct {
	url string
	ca  string
}

// findSwitchboard finds the site's switchboard on the LAN for a booth whose config names
// none. pin is the device CA it must hold: the one the booth enrolled with or the config
// pins; "" for a booth not yet enrolled, which takes the CA the announcement names, shows
// it beside the activation code for IT to compare, and pins it once approved. Switchboards
// with another CA are ignored; two with different CAs and no pin are refused (a rogue
// cannot be told from the site's). The screen says what it waits for.
func findSwitchboard(ctx context.Context, table *discovery.Table, pin, stateDir string, skip func(discovery.Peer) bool, scr *boothScreen, log *slog.Logger) (found, error) {
	remembered, _ := readRemembered(stateDir)
	wctx := ctx
	if pin != "" && remembered != "" {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, rememberedAfter)
		defer cancel()
	}
	var stop func()
	if pin == "" {
		stop = scr.showAlone(ctx, screen.View{Kind: screen.Activation, Problem: lookingText})
		defer stop()
	}
	p, err := discovery.WaitSwitchboard(wctx, table, discovery.Wait{Pin: pin, Settle: settleFor, Skip: skip, Problem: func(err error) {
		switch {
		case err == nil:
		case errors.Is(err, discovery.ErrAmbiguous):
			log.Error("not choosing a switchboard", "err", err)
			if pin == "" {
				scr.setView(screen.View{Kind: screen.Activation, Problem: ambiguousText})
			}
		default:
			log.Info("looking for the switchboard on the LAN", "why", err)
			if pin == "" {
				scr.setView(screen.View{Kind: screen.Activation, Problem: lookingText})
			}
		}
	}})
	if err != nil {
		if ctx.Err() == nil && remembered != "" {
			log.Warn("no switchboard answers on the LAN; starting with the address found last time", "url", remembered)
			return found{url: remembered, ca: pin}, nil
		}
		return found{}, err
	}
	u, err := switchboardURL(p)
	if err != nil {
		return found{}, err
	}
	log.Info("found the switchboard on the LAN", "url", u, "instance", p.Instance, "device_ca", p.CA)
	if u != remembered {
		remember(stateDir, u, log)
	}
	return found{url: u, ca: p.CA}, nil
}

// Screen texts while the booth looks for its switchboard.
const (
	lookingText   = "Please wait. The booth is looking for the switchboard on this network."
	ambiguousText = "Two switchboards answer on this network. IT must choose one: set switchboard.ca_fingerprint."
)

// switchboardURL is the https:// base URL of a switchboard found: its first address.
func switchboardURL(p discovery.Peer) (string, error) {
	eps := p.Endpoints()
	if len(eps) == 0 {
		return "", fmt.Errorf("switchboard %q announced no address", p.Instance)
	}
	// A zone in a URL is written %25 (RFC 6874).
	return "https://" + strings.Replace(eps[0], "%", "%25", 1), nil
}

// remember keeps the address found for the next start (readRemembered).
func remember(stateDir, u string, log *slog.Logger) {
	if err := atomicfile.Write(filepath.Join(stateDir, urlFile), []byte(u+"\n"), 0o600); err != nil {
		log.Warn("remember the switchboard's address", "err", err)
	}
}

// readRemembered returns the address found last time, or "".
func readRemembered(stateDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, urlFile))
	if err != nil {
		return "", err
	}
	u := strings.TrimSpace(string(b))
	if !strings.HasPrefix(u, "https://") || strings.ContainsAny(u, " \n") {
		return "", fmt.Errorf("%s: %q is not an https:// URL; delete it and the booth looks again", filepath.Join(stateDir, urlFile), u)
	}
	return u, nil
}

// pinnedCA is the fingerprint of the switchboard CA a booth enrolled with, or the config's
// pin, or "".
func pinnedCA(stateDir, configPin string) string {
	if _, der, err := readCA(filepath.Join(stateDir, caFile)); err == nil {
		return deviceca.Fingerprint(der)
	}
	return configPin
}

// refusals remembers the switchboards found on the LAN that were refused this run, so the
// search goes on without them: one that named the site's CA and served with another. An
// enrolled booth also checks each candidate's TLS chain against its pinned CA before taking
// it, so a rogue announcing the site's fingerprint cannot capture it at boot.
type refusals struct {
	mu      sync.Mutex
	refused map[string]bool // by URL
	client  *http.Client    // the enrolled booth's, or nil
	log     *slog.Logger
}

func (r *refusals) refuse(url string, why error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused == nil {
		r.refused = map[string]bool{}
	}
	r.refused[url] = true
	r.log.Error("refused a switchboard found on the LAN; looking on without it", "url", url, "err", why)
}

// skip reports whether p was refused, checking it first if it was never seen.
func (r *refusals) skip(p discovery.Peer) bool {
	u, err := switchboardURL(p)
	if err != nil {
		return true
	}
	r.mu.Lock()
	refused, seen := r.refused[u]
	r.mu.Unlock()
	if seen || r.client == nil {
		return refused
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, u+"/", nil)
	resp, err := r.client.Do(req)
	var tlsErr *tls.CertificateVerificationError
	if err != nil && (errors.As(err, &tlsErr) || strings.Contains(err.Error(), "pinned device CA")) {
		r.refuse(u, err)
		return true
	}
	if err == nil {
		resp.Body.Close()
	}
	r.mu.Lock()
	if r.refused == nil {
		r.refused = map[string]bool{}
	}
	r.refused[u] = false // answered with the pinned CA (or not at all: tried again later by the link)
	r.mu.Unlock()
	return false
}

// rediscover returns the function the booth asks for the switchboard's address after a
// failed connection: the site's switchboard as the LAN now announces it (with the pinned
// CA, and not one refused), remembered for the next start; "" while none answers.
func rediscover(table *discovery.Table, pin, stateDir string, skip func(discovery.Peer) bool, log *slog.Logger) func() string {
	var mu sync.Mutex
	last, _ := readRemembered(stateDir)
	return func() string {
		peers := slices.DeleteFunc(table.Peers(discovery.KindSwitchboard), skip)
		p, err := discovery.ChooseSwitchboard(peers, pin)
		if err != nil {
			return ""
		}
		u, err := switchboardURL(p)
		if err != nil {
			return ""
		}
		mu.Lock()
		defer mu.Unlock()
		if u != last {
			last = u
			log.Info("the switchboard is announced at another address", "url", u, "instance", p.Instance)
			remember(stateDir, u, log)
		}
		return u
	}
}
