package logring

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Line is one log line and when it was written.
type Line struct {
	Time time.Time
	Text string
}

// Ring keeps the most recent lines: capacity of them, each cut to maxLen bytes. It is
// safe for concurrent use.
type Ring struct {
	maxLen int
	now    func() time.Time

	mu    sync.Mutex
	lines []Line // circular once full
	next  int    // where the next line goes once full
	full  bool
}

// New returns a ring of capacity lines, each at most maxLen bytes. now stamps lines (nil:
// time.Now).
func New(capacity, maxLen int, now func() time.Time) (*Ring, error) {
	if capacity < 1 || maxLen < 16 {
		return nil, errors.New("logring: capacity must be at least 1 and maxLen at least 16")
	}
	if now == nil {
		now = time.Now
	}
	return &Ring{maxLen: maxLen, now: now, lines: make([]Line, 0, capacity)}, nil
}

// Write keeps p as one line (without its trailing newline), cut to the ring's length at
// a character boundary. It never fails.
func (r *Ring) Write(p []byte) (int, error) {
	text := strings.TrimRight(string(p), "\n")
	if len(text) > r.maxLen {
		cut := r.maxLen - len("…")
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	l := Line{Time: r.now(), Text: text}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full && len(r.lines) < cap(r.lines) {
		r.lines = append(r.lines, l)
		if len(r.lines) == cap(r.lines) {
			r.full = true
		}
		return len(p), nil
	}
	r.lines[r.next] = l
	r.next = (r.next + 1) % len(r.lines)
	return len(p), nil
}

// Last returns the n most recent lines, oldest first (n <= 0: all of them).
func (r *Ring) Last(n int) []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := make([]Line, 0, len(r.lines))
	if r.full {
		all = append(all, r.lines[r.next:]...)
		all = append(all, r.lines[:r.next]...)
	} else {
		all = append(all, r.lines...)
	}
	if n > 0 && n < len(all) {
		all = all[len(all)-n:]
	}
	return all
}

// Handler returns a text handler writing into the ring at level and above.
func (r *Ring) Handler(level slog.Leveler) slog.Handler {
	return slog.NewTextHandler(r, &slog.HandlerOptions{Level: level})
}

// Tee returns a handler that passes each record to every one of hs that is enabled for
// its level.
func Tee(hs ...slog.Handler) slog.Handler { return tee(hs) }

type tee []slog.Handler

func (t tee) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t tee) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (t tee) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(tee, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t tee) WithGroup(name string) slog.Handler {
	out := make(tee, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
