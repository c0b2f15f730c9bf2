package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func pass(context.Context) error { return nil }

func TestRun(t *testing.T) {
	noCamera := func(context.Context) error { return errors.New("open /dev/video0: no such device") }
	noMic := func(context.Context) error { return errors.New("open hw:1: device busy") }
	tests := []struct {
		name   string
		checks []Check
		want   string // "" for a pass
	}{
		{"all pass", []Check{{Name: "switchboard", Timeout: time.Second, Run: pass}, {Name: "camera", Timeout: time.Second, Run: pass}}, ""},
		{"one fails", []Check{{Name: "switchboard", Timeout: time.Second, Run: pass}, {Name: "camera", Timeout: time.Second, Run: noCamera}}, "camera: open /dev/video0: no such device"},
		{"two fail, in order", []Check{{Name: "camera", Timeout: time.Second, Run: noCamera}, {Name: "screen", Timeout: time.Second, Run: pass}, {Name: "microphone", Timeout: time.Second, Run: noMic}},
			"camera: open /dev/video0: no such device; microphone: open hw:1: device busy"},
		{"no checks", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRunner(clockwork.NewFakeClock(), nil, tt.checks...)
			if err != nil {
				t.Fatal(err)
			}
			err = r.Run(context.Background())
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			var he *Error
			if !errors.Is(err, ErrFailed) || !errors.As(err, &he) || err.Error() != tt.want {
				t.Errorf("got %v, want ErrFailed %q", err, tt.want)
			}
		})
	}
}

// A check that does not answer in time fails, whether it stops when told or hangs.
func TestTimeout(t *testing.T) {
	clock := clockwork.NewFakeClock()
	hung := make(chan struct{})
	defer close(hung)
	r, err := NewRunner(clock, nil,
		Check{Name: "screen", Timeout: 5 * time.Second, Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		Check{Name: "camera", Timeout: 5 * time.Second, Run: func(context.Context) error { <-hung; return nil }},
	)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	err = <-errc
	var he *Error
	if !errors.As(err, &he) || len(he.Failed) != 2 {
		t.Fatalf("got %v, want both checks failed", err)
	}
	for _, f := range he.Failed {
		if !strings.Contains(f.Err.Error(), "timed out after 5s") {
			t.Errorf("%s: got %v, want timed out after 5s", f.Name, f.Err)
		}
	}
}

func TestCancelled(t *testing.T) {
	r, _ := NewRunner(nil, nil, Check{Name: "screen", Timeout: time.Hour, Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx); !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "canceled") {
		t.Errorf("got %v, want the cancellation", err)
	}
}

func TestNewRunnerRefuses(t *testing.T) {
	tests := []struct {
		name   string
		checks []Check
		want   string
	}{
		{"no name", []Check{{Name: "", Timeout: time.Second, Run: pass}}, "no name"},
		{"twice", []Check{{Name: "camera", Timeout: time.Second, Run: pass}, {Name: "camera", Timeout: time.Second, Run: pass}}, `"camera" is listed twice`},
		{"no timeout", []Check{{Name: "camera", Timeout: 0, Run: pass}}, "no timeout"},
		{"no function", []Check{{Name: "camera", Timeout: time.Second, Run: nil}}, "needs one of Run and Probe"},
		{"both functions", []Check{{Name: "camera", Timeout: time.Second, Run: pass,
			Probe: func(context.Context) (string, error) { return "", nil }}}, "needs one of Run and Probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRunner(nil, nil, tt.checks...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestReachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := Reachable(srv.Client(), srv.URL+"/healthz")(context.Background()); err != nil {
		t.Errorf("up: got %v, want nil", err)
	}
	if err := Reachable(srv.Client(), srv.URL+"/down")(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("down: got %v, want an error naming 503", err)
	}
}

// TestResultsReportEveryCheck: Results gives passes and failures in order, with what a
// Probe found.
func TestResultsReportEveryCheck(t *testing.T) {
	r, err := NewRunner(nil, nil,
		Check{Name: "camera", Timeout: time.Second, Probe: func(context.Context) (string, error) { return "640x480", nil }},
		Check{Name: "disk", Timeout: time.Second, Probe: func(context.Context) (string, error) { return "3 MiB free", errors.New("too little") }},
		Check{Name: "screen", Timeout: time.Second, Run: func(context.Context) error { return nil }},
	)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Results(context.Background())
	if len(got) != 3 || got[0].Name != "camera" || got[0].Err != nil || got[0].Detail != "640x480" ||
		got[1].Err == nil || got[1].Detail != "3 MiB free" || got[2].Err != nil {
		t.Fatalf("got %+v, want camera passed with its detail, disk failed, screen passed", got)
	}
}
