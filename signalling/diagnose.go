package signalling

import (
	"errors"
	"fmt"
	"time"
)

// TypeDiagnose is switchboard -> device: IT asked for a self-test or the recent log.
// TypeDiagnosis is the device's answer, carrying the same Request.
const (
	TypeDiagnose  Type = "diagnose"
	TypeDiagnosis Type = "diagnosis"
)

// DiagnoseKind is what IT asked a device for.
type DiagnoseKind string

// Diagnose kinds.
const (
	DiagnoseSelfTest DiagnoseKind = "selftest" // run the checks and report each
	DiagnoseLogs     DiagnoseKind = "logs"     // send the most recent log lines
)

// Valid reports whether k is a known kind.
func (k DiagnoseKind) Valid() bool { return k == DiagnoseSelfTest || k == DiagnoseLogs }

// Bounds of a diagnosis. A diagnosis must fit in one message (MaxMessageBytes), so a
// device sends at most MaxLogLines lines of at most MaxLogLineBytes each and drops the
// oldest until the whole answer fits in MaxLogBytes.
const (
	MaxLogLines     = 500
	MaxLogLineBytes = 1000
	MaxLogBytes     = 48 << 10
	maxChecks       = 16
	maxCheckName    = 64
	maxCheckDetail  = 500
)

// Diagnose asks a device for a self-test or its recent log. Request is the switchboard's
// number for the question; Lines is how many log lines at most (0: all it keeps).
type Diagnose struct {
	Request uint64       `json:"request"`
	Kind    DiagnoseKind `json:"kind"`
	Lines   int          `json:"lines,omitempty"`
}

// CheckResult is how one self-test check went.
type CheckResult struct {
	Name   string  `json:"name"`
	OK     bool    `json:"ok"`
	Detail string  `json:"detail,omitempty"` // what was found, or why it failed
	TookMs float64 `json:"took_ms"`
}

// LogLine is one line of a device's log, as its log handler wrote it.
type LogLine struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Diagnosis answers a Diagnose: Checks for a self-test, Logs (oldest first) for logs.
// Error says why the device could not do what was asked (a self-test already running).
type Diagnosis struct {
	Request uint64        `json:"request"`
	Kind    DiagnoseKind  `json:"kind"`
	Checks  []CheckResult `json:"checks,omitempty"`
	Logs    []LogLine     `json:"logs,omitempty"`
	Error   string        `json:"error,omitempty"`
}

func (m *Diagnose) validate() error {
	switch {
	case m.Request == 0:
		return errors.New("request is missing")
	case !m.Kind.Valid():
		return fmt.Errorf("kind %q is not %q or %q", m.Kind, DiagnoseSelfTest, DiagnoseLogs)
	case m.Lines < 0 || m.Lines > MaxLogLines:
		return fmt.Errorf("lines %d is outside 0..%d", m.Lines, MaxLogLines)
	}
	return nil
}

func (m *Diagnosis) validate() error {
	switch {
	case m.Request == 0:
		return errors.New("request is missing")
	case !m.Kind.Valid():
		return fmt.Errorf("kind %q is not %q or %q", m.Kind, DiagnoseSelfTest, DiagnoseLogs)
	case len(m.Checks) > maxChecks:
		return fmt.Errorf("%d checks, the limit is %d", len(m.Checks), maxChecks)
	case len(m.Logs) > MaxLogLines:
		return fmt.Errorf("%d log lines, the limit is %d", len(m.Logs), MaxLogLines)
	case m.Kind == DiagnoseLogs && len(m.Checks) > 0:
		return errors.New("a logs diagnosis carries no checks")
	case m.Kind == DiagnoseSelfTest && len(m.Logs) > 0:
		return errors.New("a selftest diagnosis carries no logs")
	}
	if err := boundedText("error", m.Error, maxLastErrorLen); err != nil {
		return err
	}
	for i, c := range m.Checks {
		if c.Name == "" {
			return fmt.Errorf("check %d has no name", i+1)
		}
		if err := boundedText(fmt.Sprintf("check %d name", i+1), c.Name, maxCheckName); err != nil {
			return err
		}
		if err := boundedText(fmt.Sprintf("check %q detail", c.Name), c.Detail, maxCheckDetail); err != nil {
			return err
		}
		if !(c.TookMs >= 0 && c.TookMs <= 600_000) {
			return fmt.Errorf("check %q took_ms %v is outside 0..600000", c.Name, c.TookMs)
		}
	}
	for i, l := range m.Logs {
		if err := boundedText(fmt.Sprintf("log line %d", i+1), l.Text, MaxLogLineBytes); err != nil {
			return err
		}
	}
	return nil
}
