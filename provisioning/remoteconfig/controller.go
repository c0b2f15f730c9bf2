package remoteconfig

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/signalling"
)

// ErrRestart is returned by Controller.Run when the process must start again to run
// another document: a new one staged, or a trial rolled back. boothd re-executes itself.
var ErrRestart = errors.New("remote config changed: restart to apply it")

// Controller applies pushed documents for one run of boothd: it stages them (and asks for
// a restart), refuses those that do not fit the base file, and commits or rolls back the
// trial this run started on.
type Controller struct {
	st      *State
	base    config.Config
	clock   clockwork.Clock
	timeout time.Duration

	connected chan struct{} // closed at the first welcome
	restart   chan struct{} // closed when a staged document needs a restart
	once      sync.Once

	mu      sync.Mutex
	running Doc
	trial   bool // must hold mu
	staged  bool // must hold mu
	url     string
}

// NewController returns the controller of a run that started with boot from base (the
// device's own file). A trial has timeout to reach the switchboard (0: TrialTimeout).
func NewController(st *State, base config.Config, boot Boot, clock clockwork.Clock, timeout time.Duration) *Controller {
	if timeout <= 0 {
		timeout = TrialTimeout
	}
	return &Controller{st: st, base: base, clock: clock, timeout: timeout, connected: make(chan struct{}), restart: make(chan struct{}),
		running: boot.Running, trial: boot.Trial, url: boot.Config.Switchboard.URL}
}

// Run waits, on a trial, for the switchboard within the timeout and rolls back if it
// does not answer; then for a document that needs a restart. It returns ErrRestart, or nil
// when ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.mu.Lock()
	trial := c.trial
	c.mu.Unlock()
	if trial {
		select {
		case <-ctx.Done():
			return nil
		case <-c.connected:
		case <-c.restart:
			return ErrRestart
		case <-c.clock.After(c.timeout):
			if err := c.timedOut(); err != nil {
				return err
			}
		}
	}
	select {
	case <-ctx.Done():
		return nil
	case <-c.restart:
		return ErrRestart
	}
}

// timedOut rolls the trial back unless it was committed or replaced meanwhile.
func (c *Controller) timedOut() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.staged:
		return ErrRestart
	case !c.trial:
		return nil
	}
	if err := c.st.Rollback(fmt.Sprintf("could not reach the switchboard at %s within %s", c.url, c.timeout)); err != nil {
		return fmt.Errorf("roll back remote config: %w", err)
	}
	return ErrRestart
}

// Connected is called when the switchboard welcomes the device: a trial is committed.
// It returns the reports to send; call Reported for each one sent.
func (c *Controller) Connected() []*signalling.ConfigAck {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.once.Do(func() { close(c.connected) })
	if c.trial && !c.staged {
		if _, err := c.st.Commit(); err != nil {
			c.st.log.Error("commit remote config; it stays on trial", "version", c.running.Version, "err", err)
		} else {
			c.trial = false
		}
	}
	r, ok, err := c.st.PendingReport()
	if err != nil {
		c.st.log.Error("read remote config report", "err", err)
	}
	if !ok {
		return nil
	}
	return []*signalling.ConfigAck{r.Ack()}
}

// Reported forgets a report once it has been sent.
func (c *Controller) Reported(a *signalling.ConfigAck) {
	r := Report{Seq: a.Seq, Version: a.Version, Result: a.Result, Reason: a.Reason}
	if err := c.st.ReportSent(r); err != nil {
		c.st.log.Warn("forget sent remote config report", "err", err)
	}
}

// Offer handles a pushed document. It returns the ack to send now, or nil when the
// document is staged and the device restarts to try it (the ack follows the trial).
func (c *Controller) Offer(m *signalling.Config) *signalling.ConfigAck {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.staged:
		// A restart is under way; the newest push is sent again after it.
		return nil
	case m.Version == c.running.Version && !c.trial:
		return &signalling.ConfigAck{Seq: m.Seq, Version: m.Version, Result: signalling.ConfigApplied}
	case m.Version == c.running.Version:
		return nil // on trial; Connected commits it
	}
	if r, ok, _ := c.st.LastReport(); ok && r.Version == m.Version && r.Result == signalling.ConfigRolledBack {
		return &signalling.ConfigAck{Seq: m.Seq, Version: m.Version, Result: r.Result, Reason: r.Reason}
	}
	if err := c.st.Stage(c.base, Doc{Seq: m.Seq, Version: m.Version, Document: m.Document}); err != nil {
		c.st.log.Warn("remote config refused", "version", m.Version, "err", err)
		return &signalling.ConfigAck{Seq: m.Seq, Version: m.Version, Result: signalling.ConfigRefused, Reason: err.Error()}
	}
	c.staged = true
	close(c.restart)
	return nil
}
