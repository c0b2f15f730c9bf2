package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory routes pion's logs into slog with a "scope" attribute (ice, dtls, pc, turn, ...).
// pion's info messages (state changes, candidate details) go to debug: Carebooth logs the
// transitions a person cares about itself. Trace is dropped.
type Factory struct{ log *slog.Logger }

// New returns a factory logging to log.
func New(log *slog.Logger) Factory { return Factory{log: log} }

var _ logging.LoggerFactory = Factory{}

// NewLogger is pion's logging.LoggerFactory.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("scope", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l pionLogger) atf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(string)                 {}
func (l pionLogger) Tracef(string, ...any)        {}
func (l pionLogger) Debug(msg string)             { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(f string, args ...any) { l.atf(slog.LevelDebug, f, args...) }
func (l pionLogger) Info(msg string)              { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Infof(f string, args ...any)  { l.atf(slog.LevelDebug, f, args...) }
func (l pionLogger) Warn(msg string)              { l.at(slog.LevelWarn, msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.atf(slog.LevelWarn, f, args...) }
func (l pionLogger) Error(msg string)             { l.at(slog.LevelError, msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.atf(slog.LevelError, f, args...) }
