package remoteconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/provisioning/config"
	"github.com/carebooth/carebooth/signalling"
)

// TrialTimeout is how long a start on a trial document has to reach the switchboard.
const TrialTimeout = 2 * time.Minute

// File names in the state directory.
const (
	CommittedFile = "remote-config.json"
	TrialFile     = "remote-config.trial.json"
	ReportFile    = "remote-config.report.json"
)

// Doc is a remote config document as the device stores it. Seq is the switchboard push
// that brought it, acknowledged once its outcome is known.
type Doc struct {
	Seq      uint64 `json:"seq,omitempty"`
	Version  uint64 `json:"version"`
	Document string `json:"document"`
}

// Report is an outcome not yet told to the switchboard.
type Report struct {
	Seq     uint64                  `json:"seq,omitempty"`
	Version uint64                  `json:"version"`
	Result  signalling.ConfigResult `json:"result"`
	Reason  string                  `json:"reason,omitempty"`
	// Sent: the switchboard has been told. The report is kept, so that a rolled-back
	// version the switchboard pushes again is answered, not tried again.
	Sent bool `json:"sent,omitempty"`
}

// Ack is the report as a config_ack message.
func (r Report) Ack() *signalling.ConfigAck {
	return &signalling.ConfigAck{Seq: r.Seq, Version: r.Version, Result: r.Result, Reason: r.Reason}
}

// State is the remote config files of one state directory.
type State struct {
	dir string
	log *slog.Logger
}

// New returns the State of dir, which must exist.
func New(dir string, log *slog.Logger) *State {
	return &State{dir: dir, log: log.With("component", "remoteconfig")}
}

func (s *State) path(name string) string { return filepath.Join(s.dir, name) }

func (s *State) read(name string, v any) (bool, error) {
	data, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read remote config: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", s.path(name), err)
	}
	return true, nil
}

func (s *State) write(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(s.path(name), data, 0o600)
}

func (s *State) remove(name string) error {
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", s.path(name), err)
	}
	return syncDir(s.dir)
}

// Boot is what a start runs.
type Boot struct {
	Config  config.Config
	Running Doc  // the document applied (Version 0: none)
	Trial   bool // Running is on trial: Commit once the switchboard answers, else Rollback
}

// Boot returns the config to start with: base with the trial document when one is
// pending, else with the committed one. It first finishes a commit or rollback a power
// cut interrupted. A document that no longer validates with base (the file on the device
// changed) is dropped with a report, and base runs alone rather than not at all.
func (s *State) Boot(base config.Config) (Boot, error) {
	var trial, committed Doc
	var rep Report
	hasTrial, err := s.read(TrialFile, &trial)
	if err != nil {
		return Boot{}, err
	}
	hasRep, err := s.read(ReportFile, &rep)
	if err != nil {
		return Boot{}, err
	}
	if hasTrial && hasRep && rep.Version == trial.Version {
		switch rep.Result {
		case signalling.ConfigApplied:
			if err := s.promote(trial); err != nil {
				return Boot{}, err
			}
		case signalling.ConfigRolledBack:
			if err := s.remove(TrialFile); err != nil {
				return Boot{}, err
			}
		}
		hasTrial = false
	}
	if hasTrial {
		cfg, err := apply(base, trial)
		if err == nil {
			return Boot{Config: cfg, Running: trial, Trial: true}, nil
		}
		if err := s.Rollback(fmt.Sprintf("refused on start: %v", err)); err != nil {
			return Boot{}, err
		}
	}
	hasCommitted, err := s.read(CommittedFile, &committed)
	if err != nil || !hasCommitted {
		return Boot{Config: base}, err
	}
	cfg, err := apply(base, committed)
	if err != nil {
		s.log.Error("the committed remote config no longer fits this device's config file; running the file alone",
			"version", committed.Version, "err", err)
		return Boot{Config: base}, nil
	}
	return Boot{Config: cfg, Running: committed}, nil
}

func apply(base config.Config, d Doc) (config.Config, error) {
	o, err := config.ParseOverlay(fmt.Sprintf("remote config version %d", d.Version), d.Document)
	if err != nil {
		return base, err
	}
	return o.Apply(base)
}

// Stage checks d against base and, if it fits, writes it as the trial for the next start.
// A refusal changes nothing and says why.
func (s *State) Stage(base config.Config, d Doc) error {
	if _, err := apply(base, d); err != nil {
		return err
	}
	if err := s.write(TrialFile, d); err != nil {
		return fmt.Errorf("stage remote config version %d: %w", d.Version, err)
	}
	s.log.Info("remote config staged; restarting to try it", "version", d.Version)
	return nil
}

// Commit makes the trial the committed document, once it has reached the switchboard,
// and reports it applied.
func (s *State) Commit() (Report, error) {
	var trial Doc
	ok, err := s.read(TrialFile, &trial)
	if err != nil || !ok {
		return Report{}, err
	}
	rep := Report{Seq: trial.Seq, Version: trial.Version, Result: signalling.ConfigApplied}
	if err := s.write(ReportFile, rep); err != nil {
		return Report{}, err
	}
	if err := s.promote(trial); err != nil {
		return Report{}, err
	}
	s.log.Info("remote config committed", "version", trial.Version)
	return rep, nil
}

func (s *State) promote(trial Doc) error {
	if err := os.Rename(s.path(TrialFile), s.path(CommittedFile)); err != nil {
		return fmt.Errorf("commit remote config: %w", err)
	}
	return syncDir(s.dir)
}

// Rollback drops the trial, so the next start runs the committed document again, and
// reports why.
func (s *State) Rollback(reason string) error {
	var trial Doc
	ok, err := s.read(TrialFile, &trial)
	if err != nil || !ok {
		return err
	}
	rep := Report{Seq: trial.Seq, Version: trial.Version, Result: signalling.ConfigRolledBack, Reason: reason}
	if err := s.write(ReportFile, rep); err != nil {
		return err
	}
	if err := s.remove(TrialFile); err != nil {
		return err
	}
	s.log.Warn("remote config rolled back", "version", trial.Version, "reason", reason)
	return nil
}

// LastReport returns the last outcome, sent or not, if any.
func (s *State) LastReport() (Report, bool, error) {
	var r Report
	ok, err := s.read(ReportFile, &r)
	return r, ok, err
}

// PendingReport returns the outcome not yet told to the switchboard, if any.
func (s *State) PendingReport() (Report, bool, error) {
	r, ok, err := s.LastReport()
	return r, ok && !r.Sent, err
}

// ReportSent marks r sent; a newer report written meanwhile is kept as it is.
func (s *State) ReportSent(r Report) error {
	cur, ok, err := s.PendingReport()
	if err != nil || !ok || cur != r {
		return err
	}
	r.Sent = true
	return s.write(ReportFile, r)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
