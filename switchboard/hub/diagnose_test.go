package hub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carebooth/carebooth/signalling"
)

// recvDiagnose reads messages until a diagnose comes.
func recvDiagnose(t *testing.T, c *signalling.Conn) *signalling.Diagnose {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		env, body, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for diagnose: %v", err)
		}
		if env.Type == signalling.TypeDiagnose {
			return body.(*signalling.Diagnose)
		}
	}
}

// recvError reads messages until an error comes.
func recvError(t *testing.T, c *signalling.Conn) *signalling.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		env, body, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for an error: %v", err)
		}
		if env.Type == signalling.TypeError {
			return body.(*signalling.Error)
		}
	}
}

// TestDiagnoseRoundTrip: IT's self-test request reaches the booth, and the booth's
// answer reaches the caller; a wrong answer is refused and the right one still counts.
func TestDiagnoseRoundTrip(t *testing.T) {
	b := newBench(t)
	_, c := b.dial()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	type result struct {
		d   *signalling.Diagnosis
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := b.hub.Diagnose(ctx, b.booth.ID, signalling.DiagnoseSelfTest, 0)
		done <- result{d, err}
	}()
	ask := recvDiagnose(t, c)
	if ask.Kind != signalling.DiagnoseSelfTest || ask.Request == 0 {
		t.Fatalf("got %+v, want a selftest with a request number", ask)
	}
	// The wrong kind for that request is refused, and the caller still waits.
	if err := c.Send(ctx, signalling.TypeDiagnosis, &signalling.Diagnosis{Request: ask.Request, Kind: signalling.DiagnoseLogs}); err != nil {
		t.Fatal(err)
	}
	if e := recvError(t, c); e.Code != signalling.CodeBadMessage {
		t.Fatalf("wrong kind: got %+v, want bad_message", e)
	}
	// An answer to a question never asked is ignored.
	if err := c.Send(ctx, signalling.TypeDiagnosis, &signalling.Diagnosis{Request: ask.Request + 100, Kind: signalling.DiagnoseSelfTest}); err != nil {
		t.Fatal(err)
	}
	want := []signalling.CheckResult{{Name: "camera", OK: true, Detail: "test picture", TookMs: 12}}
	if err := c.Send(ctx, signalling.TypeDiagnosis, &signalling.Diagnosis{Request: ask.Request, Kind: signalling.DiagnoseSelfTest, Checks: want}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.d.Checks) != 1 || r.d.Checks[0] != want[0] {
		t.Fatalf("got %+v, %v; want the booth's checks", r.d, r.err)
	}
}

// TestDiagnoseRefusals: an unconnected device, a device that does not answer (the
// caller's deadline), one that hangs up before answering, a third question while two are
// in flight, and bad arguments.
func TestDiagnoseRefusals(t *testing.T) {
	b := newBench(t)
	bg := context.Background()
	if _, err := b.hub.Diagnose(bg, b.booth.ID, signalling.DiagnoseLogs, 10); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("not connected: got %v, want ErrNotConnected", err)
	}
	if _, err := b.hub.Diagnose(bg, b.booth.ID, "reboot", 0); err == nil {
		t.Fatal("kind reboot: got nil, want an error")
	}
	if _, err := b.hub.Diagnose(bg, b.booth.ID, signalling.DiagnoseLogs, signalling.MaxLogLines+1); err == nil {
		t.Fatal("too many lines: got nil, want an error")
	}

	ws, c := b.dial()
	short, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	if _, err := b.hub.Diagnose(short, b.booth.ID, signalling.DiagnoseLogs, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no answer: got %v, want the deadline", err)
	}
	recvDiagnose(t, c)

	// Two in flight are allowed, a third is busy.
	ctx, cancel2 := context.WithCancel(bg)
	defer cancel2()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := b.hub.Diagnose(ctx, b.booth.ID, signalling.DiagnoseSelfTest, 0)
			errs <- err
		}()
		recvDiagnose(t, c)
	}
	if _, err := b.hub.Diagnose(bg, b.booth.ID, signalling.DiagnoseLogs, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("third question: got %v, want ErrBusy", err)
	}
	// The booth hangs up: both callers learn it is gone.
	ws.CloseNow()
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrNotConnected) {
				t.Fatalf("hung up: got %v, want ErrNotConnected", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a caller still waits after the booth hung up")
		}
	}
}
