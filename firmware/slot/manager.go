package slot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/jonboulle/clockwork"
)

// Switcher points the device at a slot: a symlink in development (Dirs), the bootloader
// on a Raspberry Pi (see doc.go). The Manager decides; the Switcher only does.
type Switcher interface {
	// Booted returns the slot the running system was started from.
	Booted() (Name, error)
	// Try makes the next start run n, once where the mechanism can (tryboot).
	Try(n Name) error
	// Commit makes every start from now on run n.
	Commit(n Name) error
}

// Store writes a slot's contents.
type Store interface {
	// Wipe empties slot n.
	Wipe(n Name) error
	// Write puts the staged bundle's files into slot n, durably, checking each file's
	// SHA-256 against the manifest again as it copies.
	Write(n Name, st *bundle.Staged) error
}

// checker is the health check run before a release is committed (health.Runner).
type checker interface {
	Run(ctx context.Context) error
}

// DefaultMaxTries is how many starts a release gets to pass its health checks before it
// counts as a crash loop and is rolled back.
const DefaultMaxTries = 3

// ErrBusy: an install was asked for while another release is being tried.
var ErrBusy = errors.New("a release is being tried")

// Config is what a Manager is built from.
type Config struct {
	StatePath string // the state file (under the state directory)
	Switcher  Switcher
	Store     Store
	MaxTries  int // 0: DefaultMaxTries
	Clock     clockwork.Clock
	Logger    *slog.Logger
}

// Manager runs the A/B state machine (doc.go). One process owns a state file.
type Manager struct {
	path     string
	sw       Switcher
	store    Store
	maxTries int
	clock    clockwork.Clock
	log      *slog.Logger
	// step, when set (tests), is called after each durable step with its name.
	step func(string)

	mu sync.Mutex // serialises every method; each reads the state file afresh
}

// New builds a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.StatePath == "" || cfg.Switcher == nil || cfg.Store == nil {
		return nil, errors.New("slot: the config needs a state path, a switcher and a store")
	}
	m := &Manager{path: cfg.StatePath, sw: cfg.Switcher, store: cfg.Store, maxTries: cfg.MaxTries, clock: cfg.Clock, log: cfg.Logger}
	if m.maxTries <= 0 {
		m.maxTries = DefaultMaxTries
	}
	if m.clock == nil {
		m.clock = clockwork.NewRealClock()
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.log = m.log.With("component", "firmware/slot")
	return m, nil
}

// Decision is what a start should do, from Boot, Install and Confirm.
type Decision struct {
	Slot    Name   // the slot to run
	Version string // what it holds ("" when not recorded, as for the first slot)
	// Trying: Slot holds a release on trial: run the health checks, then Confirm.
	Trying bool
	// Restart: the running system is not what should run; restart (on a Pi, reboot,
	// with "0 tryboot" when Trying).
	Restart bool
	// RolledBack is set when this call rolled a release back.
	RolledBack *Failure
}

func (m *Manager) did(step string) {
	if m.step != nil {
		m.step(step)
	}
}

// State returns the recorded state.
func (m *Manager) State() (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load()
}

// load reads the state file or, before the first one is written, makes the first state:
// the slot the device started from is the committed one.
// loadBooted is the state and the slot running now. Must hold mu.
func (m *Manager) loadBooted() (State, Name, error) {
	st, err := m.load()
	if err != nil {
		return st, "", err
	}
	booted, err := m.sw.Booted()
	if err != nil {
		return st, "", fmt.Errorf("slot: %w", err)
	}
	return st, booted, nil
}

func (m *Manager) load() (State, error) {
	st, ok, err := loadState(m.path)
	if err != nil || ok {
		return st, err
	}
	booted, err := m.sw.Booted()
	if err != nil {
		return State{}, fmt.Errorf("slot: first start: %w", err)
	}
	st = State{Schema: stateSchema, Active: booted, Slots: map[Name]Contents{booted: {Complete: true}}}
	return st, m.save(st, "first state")
}

func (m *Manager) save(st State, step string) error {
	if err := saveState(m.path, st); err != nil {
		return fmt.Errorf("slot: %w", err)
	}
	m.did(step)
	return nil
}

// Boot decides, at every start, which slot runs: the committed one, or a release on
// trial while it has starts left. A release on trial that has used up MaxTries starts
// without being committed (it crashed, hung, or its checks never finished) is rolled
// back. Boot also repairs a switch a kill left half done.
func (m *Manager) Boot() (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, booted, err := m.loadBooted()
	if err != nil {
		return Decision{}, err
	}
	if st.Trying == "" {
		return m.runActive(st, booted)
	}
	if !st.Slots[st.Trying].Complete {
		return m.rollback(st, booted, "its slot was not completely written")
	}
	st.Tries++
	if st.Tries > m.maxTries {
		return m.rollback(st, booted, fmt.Sprintf("%d starts without passing its health checks (a crash loop)", m.maxTries))
	}
	if err := m.save(st, "boot: count the try"); err != nil {
		return Decision{}, err
	}
	d := Decision{Slot: st.Trying, Version: st.Slots[st.Trying].Version, Trying: true}
	if booted != st.Trying {
		// The switch never happened (a kill before it) or the bootloader fell back to the
		// committed slot (the trial did not come up): try again; the count bounds it.
		if err := m.sw.Try(st.Trying); err != nil {
			return Decision{}, fmt.Errorf("slot: try %s: %w", st.Trying, err)
		}
		m.did("boot: switch to the trial slot")
		d.Restart = true
	}
	m.log.Info("trying release", "slot", d.Slot, "version", d.Version, "start", st.Tries, "of", m.maxTries, "restart", d.Restart)
	return d, nil
}

// runActive points the device at the committed slot if it is not already (a kill after a
// rollback's record and before its switch).
func (m *Manager) runActive(st State, booted Name) (Decision, error) {
	d := Decision{Slot: st.Active, Version: st.Slots[st.Active].Version}
	if booted != st.Active {
		if err := m.sw.Commit(st.Active); err != nil {
			return Decision{}, fmt.Errorf("slot: switch back to %s: %w", st.Active, err)
		}
		m.did("switch to the committed slot")
		d.Restart = true
	}
	return d, nil
}

// rollback records why the trial failed, then points the device at the committed slot.
// In that order: a kill between the two leaves a record Boot finishes, never a retry of
// the failed release.
func (m *Manager) rollback(st State, booted Name, reason string) (Decision, error) {
	f := &Failure{Version: st.Slots[st.Trying].Version, Reason: reason, At: m.clock.Now().UTC()}
	st.Trying, st.Tries, st.LastError = "", 0, f
	if err := m.save(st, "rollback: record"); err != nil {
		return Decision{}, err
	}
	m.log.Warn("release rolled back", "version", f.Version, "reason", reason, "to", st.Active)
	d, err := m.runActive(st, booted)
	d.RolledBack = f
	return d, err
}

// Install writes a checked, staged bundle into the inactive slot and puts it on trial:
// the caller restarts (Decision.Restart) and the next Boot starts it. The committed slot
// is not touched, and until the last step a kill leaves it the one that runs.
func (m *Manager) Install(st *bundle.Staged) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.load()
	if err != nil {
		return Decision{}, err
	}
	if s.Trying != "" {
		return Decision{}, fmt.Errorf("slot: install %s: %w (%s); confirm or roll it back first", st.Manifest.Version, ErrBusy, s.Slots[s.Trying].Version)
	}
	if booted, err := m.sw.Booted(); err != nil {
		return Decision{}, fmt.Errorf("slot: %w", err)
	} else if booted != s.Active {
		return Decision{}, fmt.Errorf("slot: install %s: running slot %s, committed %s; call Boot first", st.Manifest.Version, booted, s.Active)
	}
	target := s.Active.Other()
	s.Slots[target] = Contents{} // from here it may hold anything
	if err := m.save(s, "install: mark the slot incomplete"); err != nil {
		return Decision{}, err
	}
	if err := m.store.Wipe(target); err != nil {
		return Decision{}, fmt.Errorf("slot: install %s: %w", st.Manifest.Version, err)
	}
	m.did("install: wipe")
	if err := m.store.Write(target, st); err != nil {
		return Decision{}, fmt.Errorf("slot: install %s: %w", st.Manifest.Version, err)
	}
	s.Slots[target] = Contents{Version: st.Manifest.Version, Complete: true, Installed: m.clock.Now().UTC()}
	s.Trying, s.Tries = target, 0
	if err := m.save(s, "install: record the trial"); err != nil {
		return Decision{}, err
	}
	if err := m.sw.Try(target); err != nil {
		return Decision{}, fmt.Errorf("slot: install %s: try %s: %w", st.Manifest.Version, target, err)
	}
	m.did("install: switch")
	m.log.Info("release installed", "version", st.Manifest.Version, "slot", target)
	return Decision{Slot: target, Version: st.Manifest.Version, Trying: true, Restart: true}, nil
}

// Confirm runs the health checks on a release on trial, and commits it if they all pass
// or rolls it back (Decision.RolledBack, and Restart) if one fails. With nothing on trial
// it does nothing.
func (m *Manager) Confirm(ctx context.Context, checks checker) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, booted, err := m.loadBooted()
	if err != nil {
		return Decision{}, err
	}
	if st.Trying == "" {
		return Decision{Slot: st.Active, Version: st.Slots[st.Active].Version}, nil
	}
	if booted != st.Trying {
		return Decision{}, fmt.Errorf("slot: confirm: running slot %s, trying %s; call Boot first", booted, st.Trying)
	}
	if err := checks.Run(ctx); err != nil {
		if ctx.Err() != nil {
			// Stopped, not failed: the next start checks again (and counts the try).
			return Decision{}, fmt.Errorf("slot: confirm: %w", ctx.Err())
		}
		return m.rollback(st, booted, "health check failed: "+err.Error())
	}
	// Recorded first: a kill before the switch leaves a committed slot the bootloader
	// does not default to yet, which Boot repairs; the other order could count a healthy
	// release's last try and roll it back.
	st.Active, st.Trying, st.Tries, st.LastError = st.Trying, "", 0, nil
	if err := m.save(st, "commit: record"); err != nil {
		return Decision{}, err
	}
	if err := m.sw.Commit(st.Active); err != nil {
		return Decision{}, fmt.Errorf("slot: commit %s: %w", st.Active, err)
	}
	m.did("commit: switch")
	m.log.Info("release committed", "version", st.Slots[st.Active].Version, "slot", st.Active)
	return Decision{Slot: st.Active, Version: st.Slots[st.Active].Version}, nil
}
