package logring

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRingKeepsTheLatest(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tick := 0
	r, err := New(3, 40, func() time.Time { tick++; return at.Add(time.Duration(tick) * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Last(0); len(got) != 0 {
		t.Fatalf("empty ring: got %v, want nothing", got)
	}
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(r, "line %d\n", i)
	}
	got := r.Last(0)
	if len(got) != 3 || got[0].Text != "line 3" || got[2].Text != "line 5" || !got[2].Time.Equal(at.Add(5*time.Second)) {
		t.Fatalf("got %+v, want lines 3 to 5, oldest first", got)
	}
	if got := r.Last(2); len(got) != 2 || got[0].Text != "line 4" {
		t.Fatalf("last 2: got %+v, want lines 4 and 5", got)
	}
	if got := r.Last(10); len(got) != 3 {
		t.Fatalf("last 10 of 3: got %d lines, want 3", len(got))
	}
	// A long line is cut at a character boundary, with a mark.
	fmt.Fprint(r, strings.Repeat("é", 40))
	last := r.Last(1)[0].Text
	if len(last) > 40 || !strings.HasSuffix(last, "…") || !strings.HasPrefix(last, "éé") {
		t.Fatalf("long line: got %q (%d bytes), want at most 40 bytes ending in …", last, len(last))
	}
	if _, err := New(0, 100, nil); err == nil {
		t.Fatal("capacity 0: got nil, want an error")
	}
}

// TestTee: the daemon's own log keeps its level and format; the ring gets info and above,
// with the attributes and groups of the logger they came through.
func TestTee(t *testing.T) {
	var own bytes.Buffer
	r, _ := New(10, 500, nil)
	log := slog.New(Tee(slog.NewJSONHandler(&own, &slog.HandlerOptions{Level: slog.LevelDebug}), r.Handler(slog.LevelInfo)))
	log = log.With("component", "booth")
	log.Debug("quiet")
	log.WithGroup("call").Info("started", "id", "c1")
	log.Warn("link down", "err", "timeout")

	lines := r.Last(0)
	if len(lines) != 2 {
		t.Fatalf("ring: got %d lines %+v, want 2 (no debug)", len(lines), lines)
	}
	if !strings.Contains(lines[0].Text, "component=booth") || !strings.Contains(lines[0].Text, "call.id=c1") ||
		!strings.Contains(lines[1].Text, "level=WARN") {
		t.Fatalf("ring: got %q, want the attributes and group", lines)
	}
	if n := strings.Count(own.String(), "\n"); n != 3 || !strings.Contains(own.String(), `"msg":"quiet"`) {
		t.Fatalf("own log: got %d lines %q, want all 3 in JSON", n, own.String())
	}
}

func TestRingConcurrent(t *testing.T) {
	r, _ := New(50, 100, nil)
	log := slog.New(r.Handler(slog.LevelInfo))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				log.Info("x", "g", g, "i", i)
				r.Last(5)
			}
		}()
	}
	wg.Wait()
	if got := len(r.Last(0)); got != 50 {
		t.Fatalf("got %d lines, want 50", got)
	}
}
