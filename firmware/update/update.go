package update

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/download"
	"github.com/carebooth/carebooth/firmware/release"
	"github.com/carebooth/carebooth/firmware/slot"
)

// ErrRestart: the process must restart to run the slot it installed (or to return to the
// committed one). boothd exits with RestartExitCode for it.
var ErrRestart = errors.New("firmware: restart to run the selected slot")

// RestartExitCode is boothd's exit status for ErrRestart (EX_TEMPFAIL); the unit's
// RestartForceExitStatus= and `make run` restart on it.
const RestartExitCode = 75

// Defaults.
const (
	DefaultPollInterval = 10 * time.Minute
	// idleCheck is how often Apply looks again whether a call has ended.
	idleCheck = 15 * time.Second
	// downloadTries is how many times an interrupted download is resumed in one Apply.
	downloadTries = 5
)

// Switchboard is what the loop needs of the switchboard (apiclient.Client, with the
// device's credentials).
type Switchboard interface {
	FirmwareAnnouncement(ctx context.Context) (release.Announcement, bool, error)
	ReportFirmware(ctx context.Context, releaseID string, r release.Report) error
	URL(path string) string
}

// Checker is the booth's health checks (health.Runner).
type Checker interface {
	Run(ctx context.Context) error
}

// Config is what the loop is built from.
type Config struct {
	Target  bundle.Target // this booth's
	Running string        // firmware/version.String()
	Keys    []ed25519.PublicKey
	// Dir is the loop's own directory under the state directory: downloads, staging and
	// the pending outcome.
	Dir          string
	MaxSize      int64         // 0: bundle.DefaultMaxSize
	PollInterval time.Duration // 0: DefaultPollInterval
}

// Deps are the loop's collaborators.
type Deps struct {
	Switchboard Switchboard
	// HTTP downloads bundles, with the device's credentials (mTLS or a bearer header).
	HTTP  *http.Client
	Slots *slot.Manager
	// Idle reports whether the booth may restart now (no call, nobody waiting); nil: always.
	Idle  func() bool
	Clock clockwork.Clock
	Log   *slog.Logger
}

// Updater is the update loop. Start once at every start; then Run.
type Updater struct {
	cfg   Config
	sb    Switchboard
	dl    *download.Downloader
	slots *slot.Manager
	idle  func() bool
	clock clockwork.Clock
	log   *slog.Logger
}

// New builds an Updater.
func New(cfg Config, deps Deps) (*Updater, error) {
	if cfg.Dir == "" || cfg.Target.Platform == "" || len(cfg.Keys) == 0 {
		return nil, errors.New("firmware/update: the config needs a directory, a target and at least one trusted key")
	}
	if deps.Switchboard == nil || deps.Slots == nil {
		return nil, errors.New("firmware/update: a switchboard client and a slot manager are required")
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = bundle.DefaultMaxSize
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if deps.Idle == nil {
		deps.Idle = func() bool { return true }
	}
	if deps.Clock == nil {
		deps.Clock = clockwork.NewRealClock()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	log := deps.Log.With("component", "firmware/update")
	return &Updater{cfg: cfg, sb: deps.Switchboard, dl: download.New(deps.HTTP, deps.Log), slots: deps.Slots,
		idle: deps.Idle, clock: deps.Clock, log: log}, nil
}

// pending is the release installed and not yet reported committed or rolled back.
type pending struct {
	ReleaseID string `json:"release_id"`
	Version   string `json:"version"`
}

func (u *Updater) pendingPath() string { return filepath.Join(u.cfg.Dir, "pending.json") }

func (u *Updater) loadPending() (pending, bool) {
	b, err := os.ReadFile(u.pendingPath())
	if err != nil {
		return pending{}, false
	}
	var p pending
	if json.Unmarshal(b, &p) != nil || p.ReleaseID == "" {
		u.log.Warn("unreadable pending firmware record; dropping it", "path", u.pendingPath())
		os.Remove(u.pendingPath())
		return pending{}, false
	}
	return p, true
}

// Start runs at every start, before the booth: it counts a trial start, runs checks
// (the health checks) on a release being tried and commits or rolls it back, and
// reports the outcome. It returns ErrRestart when the process must restart first.
func (u *Updater) Start(ctx context.Context, checks Checker) error {
	d, err := u.slots.Boot()
	if err != nil {
		return fmt.Errorf("firmware: boot: %w", err)
	}
	if d.Restart {
		u.reportOutcome(ctx)
		return ErrRestart
	}
	if d.Trying {
		u.log.Info("checking the release on trial", "version", d.Version, "slot", d.Slot)
		d, err = u.slots.Confirm(ctx, checks)
		if err != nil {
			return fmt.Errorf("firmware: confirm: %w", err)
		}
		u.reportOutcome(ctx)
		if d.Restart {
			return ErrRestart
		}
		return nil
	}
	u.reportOutcome(ctx)
	return nil
}

// reportOutcome tells the switchboard how the pending release ended, from the slot
// state, and forgets it once the switchboard has it.
func (u *Updater) reportOutcome(ctx context.Context) {
	p, ok := u.loadPending()
	if !ok {
		return
	}
	st, err := u.slots.State()
	if err != nil {
		u.log.Error("reading the slot state", "err", err)
		return
	}
	var rep release.Report
	switch {
	case st.Trying != "":
		return // still on trial: the next start decides
	case st.Slots[st.Active].Version == p.Version:
		rep = release.Report{Stage: release.StageCommitted, Running: p.Version}
	case st.LastError != nil && st.LastError.Version == p.Version:
		rep = release.Report{Stage: release.StageRolledBack, Reason: st.LastError.Reason, Running: st.Slots[st.Active].Version}
	default:
		u.log.Warn("the pending release is neither committed nor rolled back; forgetting it", "release", p.ReleaseID, "version", p.Version)
		os.Remove(u.pendingPath())
		return
	}
	if err := u.sb.ReportFirmware(ctx, p.ReleaseID, rep); err != nil {
		u.log.Warn("reporting the release's outcome; will retry", "release", p.ReleaseID, "stage", rep.Stage, "err", err)
		return
	}
	u.log.Info("release outcome reported", "release", p.ReleaseID, "version", p.Version, "stage", rep.Stage, "reason", rep.Reason)
	os.Remove(u.pendingPath())
}

// Run polls the switchboard every PollInterval and applies what it announces, until
// ctx is done or a release is installed (ErrRestart).
func (u *Updater) Run(ctx context.Context) error {
	for {
		u.reportOutcome(ctx)
		a, ok, err := u.sb.FirmwareAnnouncement(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			u.log.Warn("asking for firmware", "err", err)
		case ok:
			if err := u.Apply(ctx, a); errors.Is(err, ErrRestart) {
				return err
			} else if err != nil && ctx.Err() == nil {
				u.log.Warn("firmware release not installed", "release", a.ReleaseID, "version", a.Version, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-u.clock.After(u.cfg.PollInterval):
		}
	}
}

// refusal is a release this booth will not install, reported with its reason.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// Apply acts on one announcement: it returns ErrRestart once the release is installed,
// an error wrapping the bundle's reason (bundle.ErrSignature, ErrTarget, ErrDowngrade,
// ErrTruncated, ErrTooLarge, ErrPath, ErrHash) when it refused it (and reported so), or
// another error to try again later (the download resumes).
func (u *Updater) Apply(ctx context.Context, a release.Announcement) error {
	log := u.log.With("release", a.ReleaseID, "version", a.Version)
	err := u.apply(ctx, log, a)
	var ref *refusal
	if errors.As(err, &ref) {
		log.Warn("firmware release refused", "reason", err)
		u.report(ctx, a, release.Report{Stage: release.StageRefused, Reason: err.Error(), Running: u.cfg.Running})
	}
	return err
}

func (u *Updater) apply(ctx context.Context, log *slog.Logger, a release.Announcement) error {
	policy := bundle.Policy{Target: u.cfg.Target, Running: u.cfg.Running, AllowDowngrade: a.AllowDowngrade, MaxSize: u.cfg.MaxSize}
	if err := checkAnnouncement(a, policy); err != nil {
		return &refusal{err}
	}
	if err := u.waitIdle(ctx); err != nil {
		return err
	}
	dst := filepath.Join(u.cfg.Dir, "downloads", a.ReleaseID+".bundle")
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("firmware: %w", err)
	}
	if err := u.download(ctx, log, a, dst); err != nil {
		return err
	}
	defer download.Remove(dst) //nolint:errcheck // the next release's download cleans up anyway

	staging := filepath.Join(u.cfg.Dir, "staging")
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("firmware: clear staging: %w", err)
	}
	staged, err := extract(staging, dst, a, u.cfg.Keys, policy)
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	if staged.Manifest.Version != a.Version {
		return &refusal{fmt.Errorf("%w: the bundle is version %s, the announcement said %s", bundle.ErrFormat, staged.Manifest.Version, a.Version)}
	}
	u.report(ctx, a, release.Report{Stage: release.StageVerified, Running: u.cfg.Running})
	log.Info("firmware release verified", "files", len(staged.Manifest.Files))

	if err := u.waitIdle(ctx); err != nil {
		return err
	}
	b, _ := json.Marshal(pending{ReleaseID: a.ReleaseID, Version: a.Version})
	if err := atomicfile.Write(u.pendingPath(), b, 0o600); err != nil {
		return fmt.Errorf("firmware: record the pending release: %w", err)
	}
	if _, err := u.slots.Install(staged); err != nil {
		os.Remove(u.pendingPath())
		if errors.Is(err, slot.ErrBusy) {
			return err
		}
		return &refusal{fmt.Errorf("install: %w", err)}
	}
	u.report(ctx, a, release.Report{Stage: release.StageInstalled, Running: u.cfg.Running})
	log.Info("firmware release installed; restarting into it")
	return ErrRestart
}

// checkAnnouncement refuses, before anything is downloaded, a release that the bundle
// check would refuse anyway: another target, not newer, too large.
func checkAnnouncement(a release.Announcement, p bundle.Policy) error {
	if a.Target != p.Target {
		return fmt.Errorf("%w: the release is for %s, this booth is %s", bundle.ErrTarget, a.Target, p.Target)
	}
	if a.Size <= 0 || a.Size > p.MaxSize {
		return fmt.Errorf("%w: the release is %d bytes, this booth takes at most %d", bundle.ErrTooLarge, a.Size, p.MaxSize)
	}
	if !p.AllowDowngrade {
		next, err := bundle.ParseVersion(a.Version)
		if err != nil {
			return fmt.Errorf("%w: version %q: %v", bundle.ErrFormat, a.Version, err)
		}
		running, err := bundle.ParseVersion(p.Running)
		if err != nil {
			return fmt.Errorf("%w: the running version %q is not a release version, so %s cannot be shown to be newer; publish it with --allow-downgrade", bundle.ErrDowngrade, p.Running, a.Version)
		}
		if next.Compare(running) <= 0 {
			return fmt.Errorf("%w: %s is not newer than the running %s; publish it with --allow-downgrade to install it", bundle.ErrDowngrade, a.Version, p.Running)
		}
	}
	return nil
}

// waitIdle returns once the booth is idle, checking every idleCheck.
func (u *Updater) waitIdle(ctx context.Context) error {
	logged := false
	for !u.idle() {
		if !logged {
			u.log.Info("waiting for the booth to be idle before updating")
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-u.clock.After(idleCheck):
		}
	}
	return nil
}

// download fetches the bundle, resuming an interrupted transfer, reporting every 10%,
// and checks its SHA-256 against the announcement's.
func (u *Updater) download(ctx context.Context, log *slog.Logger, a release.Announcement, dst string) error {
	last := -1
	opt := download.Options{MaxSize: u.cfg.MaxSize, Size: a.Size, Progress: func(p download.Progress) {
		if p.Total <= 0 {
			return
		}
		pct := int(p.Done * 100 / p.Total)
		if pct/10 > last/10 || last < 0 {
			last = pct
			u.report(ctx, a, release.Report{Stage: release.StageDownloading, Percent: pct, Running: u.cfg.Running})
		}
	}}
	url := u.sb.URL(a.URL)
	var err error
	for try := 1; try <= downloadTries; try++ {
		_, err = u.dl.Get(ctx, url, dst, opt)
		if !errors.Is(err, download.ErrInterrupted) || ctx.Err() != nil {
			break
		}
		log.Info("firmware download interrupted; resuming", "try", try)
	}
	switch {
	case err == nil:
	case errors.Is(err, download.ErrTooLarge):
		return &refusal{fmt.Errorf("%w: %v", bundle.ErrTooLarge, err)}
	case errors.Is(err, download.ErrSize):
		return &refusal{fmt.Errorf("%w: %v", bundle.ErrTruncated, err)}
	default:
		return fmt.Errorf("firmware: download: %w", err)
	}
	sum, err := fileSHA256(dst)
	if err != nil {
		return fmt.Errorf("firmware: %w", err)
	}
	if sum != a.SHA256 {
		download.Remove(dst) //nolint:errcheck
		return &refusal{fmt.Errorf("%w: the download's SHA-256 is %s, the announcement's %s", bundle.ErrHash, sum, a.SHA256)}
	}
	log.Info("firmware downloaded", "bytes", a.Size)
	return nil
}

func extract(staging, path string, a release.Announcement, keys []ed25519.PublicKey, p bundle.Policy) (*bundle.Staged, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("firmware: %w", err)
	}
	defer f.Close()
	st, err := bundle.Extract(staging, f, a.Size, keys, p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && !isBundleError(err) {
			return nil, fmt.Errorf("firmware: %w", err)
		}
		return nil, &refusal{err}
	}
	return st, nil
}

func isBundleError(err error) bool {
	for _, e := range []error{bundle.ErrSignature, bundle.ErrFormat, bundle.ErrTarget, bundle.ErrDowngrade,
		bundle.ErrTruncated, bundle.ErrTooLarge, bundle.ErrPath, bundle.ErrHash} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// report sends r, logging (not returning) a failure: progress is advisory, and the
// outcome that matters is kept in the pending file until it is delivered.
func (u *Updater) report(ctx context.Context, a release.Announcement, r release.Report) {
	if err := u.sb.ReportFirmware(ctx, a.ReleaseID, r); err != nil {
		u.log.Warn("reporting firmware progress", "release", a.ReleaseID, "stage", r.Stage, "err", err)
	}
}

// BearerClient returns a copy of hc (nil: a new client) that sends the device's token on
// every request, for a booth that authenticates with a token rather than a certificate.
func BearerClient(hc *http.Client, token string) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = bearer{next: next, token: token}
	return c
}

type bearer struct {
	next  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
