package light

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// SimLogInterval is the least time between two of Sim's log lines.
const SimLogInterval = time.Second

// Sim is a simulated light for a booth without one (and for `make run`): it logs pattern
// changes, at most one line per SimLogInterval, and tells the screen what the light shows.
// Changes that come faster are counted, and Run logs where the light ended up once the
// interval has passed.
type Sim struct {
	clock clockwork.Clock
	log   *slog.Logger

	mu         sync.Mutex
	cur        Pattern
	since      time.Time // when cur started
	lastLog    time.Time
	logged     bool
	suppressed int
	wake       chan struct{}
}

// NewSim returns a dark simulated light. clock defaults to the real clock and logger to
// slog.Default().
func NewSim(clock clockwork.Clock, logger *slog.Logger) *Sim {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Sim{clock: clock, log: logger.With("component", "light"), since: clock.Now(), wake: make(chan struct{}, 1)}
}

// Show makes the light play p (showing the pattern it already plays changes nothing).
func (s *Sim) Show(p Pattern) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == s.cur {
		return
	}
	now := s.clock.Now()
	s.cur, s.since = p, now
	if s.logged && now.Sub(s.lastLog) < SimLogInterval {
		s.suppressed++
		select {
		case s.wake <- struct{}{}:
		default:
		}
		return
	}
	s.logLocked(now)
}

// logLocked logs the current pattern. Must hold s.mu.
func (s *Sim) logLocked(now time.Time) {
	attrs := []any{"pattern", s.cur.String(), "meaning", s.cur.Meaning}
	if s.suppressed > 0 {
		attrs = append(attrs, "changes_not_logged", s.suppressed)
	}
	s.log.Info("simulated light", attrs...)
	s.logged, s.lastLog, s.suppressed = true, now, 0
}

// Current returns the pattern the light plays and when it started; Pattern.LitAt with the
// time since then says whether it is lit at a given moment.
func (s *Sim) Current() (Pattern, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, s.since
}

// Run logs the pattern a burst of changes ended on, once SimLogInterval has passed since
// the last line, until ctx is done; it returns nil. Without Run, such a pattern is logged
// with the next change.
func (s *Sim) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
		s.mu.Lock()
		due := s.lastLog.Add(SimLogInterval)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-s.clock.After(s.clock.Until(due)):
		}
		s.mu.Lock()
		if s.suppressed > 0 {
			s.logLocked(s.clock.Now())
		}
		s.mu.Unlock()
	}
}
