package booth

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/carebooth/carebooth/signalling"
)

// Diagnostics answers IT's requests from the switchboard: a self-test of the booth's
// devices and links, and its recent log lines. boothd's checks open the camera, so they
// must look at the booth's state themselves (Snapshot) and not probe one a call holds.
type Diagnostics interface {
	SelfTest(ctx context.Context) []signalling.CheckResult
	RecentLogs(n int) []signalling.LogLine
}

// selfTestTimeout bounds a whole self-test, under the switchboard's 30 s wait.
const selfTestTimeout = 25 * time.Second

// diagnoseQueue is how many requests wait while one is answered; the switchboard allows
// two in flight per device, so more means a misbehaving switchboard.
const diagnoseQueue = 4

// diagnoseLoop answers the switchboard's diagnose requests one at a time, beside the
// loop: a self-test takes seconds and must not hold up the booth.
func (b *Booth) diagnoseLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-b.link.diagnose:
			d := b.diagnosis(ctx, m)
			err := b.link.send(ctx, signalling.TypeDiagnosis, d)
			switch {
			case errors.Is(err, errOffline), ctx.Err() != nil:
			case err != nil:
				b.link.warn("send diagnosis", "kind", m.Kind, "err", err)
			default:
				b.log.Info("answered the switchboard", "kind", m.Kind, "request", m.Request, "checks", len(d.Checks), "lines", len(d.Logs))
			}
		}
	}
}

func (b *Booth) diagnosis(ctx context.Context, m *signalling.Diagnose) *signalling.Diagnosis {
	d := &signalling.Diagnosis{Request: m.Request, Kind: m.Kind}
	if b.diag == nil {
		d.Error = "this booth has no diagnostics"
		return d
	}
	switch m.Kind {
	case signalling.DiagnoseSelfTest:
		tctx, cancel := context.WithTimeout(ctx, selfTestTimeout)
		defer cancel()
		d.Checks = b.diag.SelfTest(tctx)
	case signalling.DiagnoseLogs:
		n := m.Lines
		if n <= 0 {
			n = signalling.MaxLogLines
		}
		d.Logs = fitLogs(b.diag.RecentLogs(n))
	}
	return d
}

// fitLogs keeps the newest lines whose encoding fits in signalling.MaxLogBytes, cutting
// each to signalling.MaxLogLineBytes, so the answer is one message the switchboard takes.
func fitLogs(lines []signalling.LogLine) []signalling.LogLine {
	if len(lines) > signalling.MaxLogLines {
		lines = lines[len(lines)-signalling.MaxLogLines:]
	}
	total, first := 0, len(lines)
	for i := len(lines) - 1; i >= 0; i-- {
		if len(lines[i].Text) > signalling.MaxLogLineBytes {
			lines[i].Text = lines[i].Text[:signalling.MaxLogLineBytes]
		}
		raw, err := json.Marshal(lines[i])
		if err != nil || total+len(raw)+1 > signalling.MaxLogBytes {
			break
		}
		total += len(raw) + 1
		first = i
	}
	return lines[first:]
}
