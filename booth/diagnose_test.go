package booth

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
)

// fakeDiagnostics answers with fixed checks and numbered log lines, and notes the
// state the booth was in when asked.
type fakeDiagnostics struct {
	lines int
	text  string
	block chan struct{} // nil: SelfTest answers at once; else it waits for it or ctx
}

func (f *fakeDiagnostics) SelfTest(ctx context.Context) []signalling.CheckResult {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return []signalling.CheckResult{{Name: "camera", Detail: ctx.Err().Error()}}
		}
	}
	return []signalling.CheckResult{{Name: "camera", OK: true, Detail: "VideoTest, 640x480", TookMs: 3}}
}

func (f *fakeDiagnostics) RecentLogs(n int) []signalling.LogLine {
	out := make([]signalling.LogLine, 0, f.lines)
	for i := range f.lines {
		out = append(out, signalling.LogLine{Time: t0.Add(time.Duration(i) * time.Second), Text: f.text + strings.Repeat("x", i%7)})
	}
	if n < len(out) {
		out = out[len(out)-n:]
	}
	return out
}

var _ Diagnostics = (*fakeDiagnostics)(nil)

// TestDiagnoseAnswers: a self-test and a log request from the switchboard are answered on
// the link with their request numbers, the loop keeps running meanwhile, and a log too
// big for one message is cut to its newest lines.
func TestDiagnoseAnswers(t *testing.T) {
	checkGoroutines(t)
	block := make(chan struct{})
	h := start(t, opts{diag: &fakeDiagnostics{lines: 500, text: strings.Repeat("log ", 200), block: block}})
	sc := h.sb.conn(t)
	sc.send(t, signalling.TypeDiagnose, &signalling.Diagnose{Request: 7, Kind: signalling.DiagnoseSelfTest})
	// While the self-test runs the booth still answers its own loop.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.booth.Ping(ctx); err != nil {
		t.Fatalf("booth loop during a self-test: %v", err)
	}
	close(block)
	d := sc.next(t, signalling.TypeDiagnosis).(*signalling.Diagnosis)
	if d.Request != 7 || len(d.Checks) != 1 || !d.Checks[0].OK {
		t.Fatalf("selftest: got %+v, want request 7 with the camera check", d)
	}

	sc.send(t, signalling.TypeDiagnose, &signalling.Diagnose{Request: 8, Kind: signalling.DiagnoseLogs, Lines: 500})
	d = sc.next(t, signalling.TypeDiagnosis).(*signalling.Diagnosis)
	raw, _ := json.Marshal(d.Logs)
	if d.Request != 8 || len(d.Logs) == 0 || len(d.Logs) == 500 || len(raw) > signalling.MaxLogBytes {
		t.Fatalf("logs: got %d lines, %d bytes; want the newest that fit in %d", len(d.Logs), len(raw), signalling.MaxLogBytes)
	}
	if last := d.Logs[len(d.Logs)-1]; !last.Time.Equal(t0.Add(499 * time.Second)) {
		t.Fatalf("logs: last line at %v, want the newest (%v)", last.Time, t0.Add(499*time.Second))
	}

	sc.send(t, signalling.TypeDiagnose, &signalling.Diagnose{Request: 9, Kind: signalling.DiagnoseLogs, Lines: 3})
	if d = sc.next(t, signalling.TypeDiagnosis).(*signalling.Diagnosis); len(d.Logs) != 3 {
		t.Fatalf("3 lines: got %d", len(d.Logs))
	}
}

// TestDiagnoseWithoutDiagnostics: a booth built without them says so rather than staying
// silent until the switchboard times out.
func TestDiagnoseWithoutDiagnostics(t *testing.T) {
	h := start(t, opts{})
	sc := h.sb.conn(t)
	sc.send(t, signalling.TypeDiagnose, &signalling.Diagnose{Request: 1, Kind: signalling.DiagnoseSelfTest})
	if d := sc.next(t, signalling.TypeDiagnosis).(*signalling.Diagnosis); d.Error == "" || d.Request != 1 {
		t.Fatalf("got %+v, want an error for request 1", d)
	}
}
