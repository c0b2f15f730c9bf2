package progressbar

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestRedrawsAtMostEveryInterval(t *testing.T) {
	clock := clockwork.NewFakeClock()
	var out bytes.Buffer
	b := New(&out, "bundle.tar", 1000, clock)
	b.Add(100) // drawn: the first
	b.Add(100) // within the interval: not drawn
	clock.Advance(Interval)
	b.Add(300) // drawn
	clock.Advance(time.Second - Interval)
	b.Add(500)
	b.Finish()
	got := strings.Split(out.String(), "\r")[1:]
	if len(got) != 4 {
		t.Fatalf("got %d draws %q, want 4 (first, after the interval, after a second, finish)", len(got), got)
	}
	if want := "bundle.tar [==>                      ]  10%  100 B / 1000 B"; got[0] != want {
		t.Errorf("first draw: got %q, want %q", got[0], want)
	}
	if want := "bundle.tar [=========================] 100%  1000 B / 1000 B  1000 B/s\n"; got[3] != want {
		t.Errorf("finish: got %q, want %q", got[3], want)
	}
}

func TestPlain(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, "up", 100, clockwork.NewFakeClock(), Plain)
	io.Copy(io.Discard, b.Reader(io.LimitReader(zeros{}, 100)))
	b.Finish()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 1 || len(lines) > 10 || !strings.Contains(lines[len(lines)-1], "100%") || strings.Contains(out.String(), "\r") {
		t.Errorf("got %q, want at most one line per 10%%, ending at 100%%, no carriage returns", out.String())
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {12_700_000, "12.1 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, tt := range tests {
		if got := size(tt.n); got != tt.want {
			t.Errorf("size(%d): got %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, "up", 0, clockwork.NewFakeClock())
	b.Add(2048)
	b.Finish()
	if !strings.Contains(out.String(), "up  2.0 KiB") {
		t.Errorf("got %q, want the bytes without a bar", out.String())
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
