package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// ErrFailed is wrapped by the error Run returns when a check fails.
var ErrFailed = errors.New("health check failed")

// Check is one named check: Run, or Probe when what it found is worth reporting (a
// self-test shows "640x480 from the USB camera", not just "ok").
type Check struct {
	Name    string
	Timeout time.Duration
	Run     func(ctx context.Context) error
	Probe   func(ctx context.Context) (string, error)
}

// Result is how one check went.
type Result struct {
	Name   string
	Err    error  // nil: passed
	Detail string // what a Probe found
	Took   time.Duration
}

// Error is the failure of one or more checks.
type Error struct {
	Failed []Result
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Failed))
	for i, r := range e.Failed {
		parts[i] = r.Name + ": " + r.Err.Error()
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrFailed) true.
func (e *Error) Is(target error) bool { return target == ErrFailed }

// Runner runs a fixed list of checks.
type Runner struct {
	checks []Check
	clock  clockwork.Clock
	log    *slog.Logger
}

// NewRunner checks the list (names unique and set, timeouts positive, a function each).
func NewRunner(clock clockwork.Clock, logger *slog.Logger, checks ...Check) (*Runner, error) {
	seen := map[string]bool{}
	for i, c := range checks {
		switch {
		case c.Name == "":
			return nil, fmt.Errorf("health check %d has no name", i+1)
		case seen[c.Name]:
			return nil, fmt.Errorf("health check %q is listed twice", c.Name)
		case c.Timeout <= 0:
			return nil, fmt.Errorf("health check %q has no timeout", c.Name)
		case (c.Run == nil) == (c.Probe == nil):
			return nil, fmt.Errorf("health check %q needs one of Run and Probe", c.Name)
		}
		seen[c.Name] = true
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{checks: checks, clock: clock, log: logger.With("component", "firmware/health")}, nil
}

// Run runs every check at once and returns nil if all pass, else an *Error (ErrFailed)
// listing those that failed, in the Runner's order. A cancelled ctx fails the checks
// still running with its error.
func (r *Runner) Run(ctx context.Context) error {
	var failed []Result
	for _, res := range r.Results(ctx) {
		if res.Err != nil {
			failed = append(failed, res)
			r.log.Warn("health check failed", "check", res.Name, "err", res.Err, "took", res.Took)
		}
	}
	if len(failed) > 0 {
		return &Error{Failed: failed}
	}
	return nil
}

// Results runs every check at once and returns how each went, in the Runner's order:
// the self-test IT asks for shows the ones that passed too.
func (r *Runner) Results(ctx context.Context) []Result {
	results := make([]chan Result, len(r.checks))
	for i, c := range r.checks {
		results[i] = make(chan Result, 1)
		go func() { results[i] <- r.run(ctx, c) }()
	}
	out := make([]Result, len(r.checks))
	for i := range r.checks {
		out[i] = <-results[i]
	}
	return out
}

func (r *Runner) run(ctx context.Context, c Check) Result {
	start := r.clock.Now()
	cctx, cancel := clockwork.WithTimeout(ctx, r.clock, c.Timeout)
	defer cancel()
	type found struct {
		detail string
		err    error
	}
	probe := c.Probe
	if probe == nil {
		probe = func(ctx context.Context) (string, error) { return "", c.Run(ctx) }
	}
	done := make(chan found, 1) // buffered: a check that ignores cctx can still finish
	go func() {
		d, err := probe(cctx)
		done <- found{d, err}
	}()
	// Err is asked only of a context known to be done: a fake clock's context blocks in
	// Err until then.
	var err error
	var detail string
	select {
	case f := <-done:
		err, detail = f.err, f.detail
		if err != nil && isDone(cctx) && !isDone(ctx) {
			err = fmt.Errorf("timed out after %v: %w", c.Timeout, err)
		}
	case <-cctx.Done():
		err = fmt.Errorf("timed out after %v (and did not stop)", c.Timeout)
		if isDone(ctx) {
			err = ctx.Err()
		}
	}
	return Result{Name: c.Name, Err: err, Detail: detail, Took: r.clock.Since(start)}
}

// Reachable returns a check that GETs url and passes on a 2xx status.
func Reachable(client *http.Client, url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

func isDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
