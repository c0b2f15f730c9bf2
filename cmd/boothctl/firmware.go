package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/carebooth/carebooth/firmware/bundle"
	"github.com/carebooth/carebooth/firmware/signingkey"
	"github.com/carebooth/carebooth/switchboard/apiclient"
)

func (cmd *command) firmwareCommand() *cobra.Command {
	return group("firmware", "Sign, publish and roll out firmware (docs/firmware.md)",
		cmd.keygenCommand(), cmd.signCommand(), cmd.publishCommand(), cmd.firmwareStatusCommand(),
		cmd.rolloutCommand("pause", "Stop announcing a release to devices that have not started it"),
		cmd.rolloutCommand("resume", "Resume a paused rollout"),
		cmd.rolloutCommand("promote", "Announce a release to every booth, whatever its canaries reported"))
}

// offline wraps a command that needs no switchboard.
func (cmd *command) offline(f func(args []string) error) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		cmd.p.JSON = cmd.asJSON
		return f(args)
	}
}

func (cmd *command) keygenCommand() *cobra.Command {
	c := &cobra.Command{Use: "keygen --out FILE", Short: "Make a firmware signing key: FILE (private, 0600) and FILE.pub (for booths and the switchboard to trust)", Args: cobra.NoArgs}
	out := c.Flags().String("out", "", "the private key file to write, e.g. release.key (never overwritten)")
	comment := c.Flags().String("comment", "", `who holds the key, written in the .pub line, e.g. "release key 2026, IT safe"`)
	c.RunE = cmd.offline(func([]string) error {
		if *out == "" {
			return &usageError{errors.New("firmware keygen: --out FILE is required (the private key file to write)")}
		}
		_, priv, err := signingkey.Generate(rand.Reader)
		if err != nil {
			return err
		}
		pubPath := *out + ".pub"
		if err := signingkey.WritePair(*out, pubPath, priv, *comment); err != nil {
			return err
		}
		line := strings.TrimSpace(string(signingkey.FormatPublic(priv.Public().(ed25519.PublicKey), *comment)))
		return cmd.p.Record(map[string]string{"private_key": *out, "public_key": pubPath, "trust_line": line},
			"wrote the private key %s (keep it offline) and the public key %s; booths and the switchboard trust:\n%s", *out, pubPath, line)
	})
	return c
}

// parseTarget reads linux/arm64[:board].
func parseTarget(s string) (bundle.Target, error) {
	platform, board, _ := strings.Cut(s, ":")
	goos, goarch, ok := strings.Cut(platform, "/")
	if !ok || goos == "" || goarch == "" || strings.ContainsAny(goarch, "/ ") || strings.Contains(board, " ") {
		return bundle.Target{}, fmt.Errorf("--target %q: want GOOS/GOARCH[:BOARD], e.g. linux/arm64:rpi4", s)
	}
	return bundle.Target{Platform: platform, Board: board}, nil
}

func (cmd *command) signCommand() *cobra.Command {
	c := &cobra.Command{Use: "sign --key FILE --version V --target linux/arm64[:board] --out bundle.tar DIR",
		Short: "Build a signed format-1 bundle of DIR's tree (DIR/bin/boothd becomes bin/boothd in the slot)", Args: args(1, "the DIR to bundle")}
	key := c.Flags().String("key", "", "the private key file (boothctl firmware keygen)")
	ver := c.Flags().String("version", "", "the release's version, MAJOR.MINOR.PATCH[-PRERELEASE]")
	tgt := c.Flags().String("target", "", "GOOS/GOARCH[:BOARD], e.g. linux/arm64:rpi4")
	out := c.Flags().String("out", "", "the bundle file to write")
	c.RunE = cmd.offline(func(a []string) error {
		for _, f := range []struct{ name, v string }{{"key", *key}, {"version", *ver}, {"target", *tgt}, {"out", *out}} {
			if f.v == "" {
				return &usageError{fmt.Errorf("firmware sign: --%s is required; see boothctl firmware sign --help", f.name)}
			}
		}
		if _, err := bundle.ParseVersion(*ver); err != nil {
			return &usageError{fmt.Errorf("firmware sign: --version %q: %v", *ver, err)}
		}
		target, err := parseTarget(*tgt)
		if err != nil {
			return &usageError{fmt.Errorf("firmware sign: %w", err)}
		}
		if fi, err := os.Stat(a[0]); err != nil {
			return fmt.Errorf("firmware sign: %w", err)
		} else if !fi.IsDir() {
			return fmt.Errorf("firmware sign: %s is a file; give the directory whose tree becomes the slot (e.g. build/ holding build/bin/boothd)", a[0])
		}
		priv, err := signingkey.ReadPrivate(*key)
		if err != nil {
			return err
		}
		m, size, err := writeBundle(*out, a[0], bundle.Manifest{Version: *ver, Target: target, Created: time.Now()}, priv)
		if err != nil {
			return err
		}
		return cmd.p.Record(m, "signed %s for %s: %d files, %d bytes in %s", m.Version, m.Target, len(m.Files), size, *out)
	})
	return c
}

// writeBundle signs dir's tree into out, by temporary file, fsync and rename, and checks
// the result as the switchboard will before it is kept.
func writeBundle(out, dir string, m bundle.Manifest, priv ed25519.PrivateKey) (bundle.Manifest, int64, error) {
	f, err := os.CreateTemp(filepath.Dir(out), ".bundle-*")
	if err != nil {
		return bundle.Manifest{}, 0, fmt.Errorf("firmware sign: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	m, err = bundle.Sign(w, os.DirFS(dir), m, priv)
	if err != nil {
		return bundle.Manifest{}, 0, fmt.Errorf("firmware sign %s: %w", dir, err)
	}
	if err := w.Flush(); err != nil {
		return bundle.Manifest{}, 0, fmt.Errorf("firmware sign: write %s: %w", out, err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return bundle.Manifest{}, 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return bundle.Manifest{}, 0, err
	}
	if _, err := bundle.Verify(f, size, []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, bundle.Policy{AnyTarget: true}); err != nil {
		return bundle.Manifest{}, 0, fmt.Errorf("firmware sign: the bundle written does not check out (%w); nothing was kept", err)
	}
	if err := f.Sync(); err != nil {
		return bundle.Manifest{}, 0, fmt.Errorf("firmware sign: write %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return bundle.Manifest{}, 0, fmt.Errorf("firmware sign: write %s: %w", out, err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return bundle.Manifest{}, 0, fmt.Errorf("firmware sign: %w", err)
	}
	f = nil
	return m, size, nil
}

func (cmd *command) publishCommand() *cobra.Command {
	c := &cobra.Command{Use: "publish BUNDLE [--canary PERCENT | --devices ID,ID]",
		Short: "Upload a signed bundle to the switchboard and start its rollout (fleet admins)", Args: args(1, "the BUNDLE file")}
	var opt apiclient.PublishOptions
	c.Flags().IntVar(&opt.CanaryPercent, "canary", 0, "announce it first to this percentage of booths; the rest once they all commit")
	c.Flags().StringSliceVar(&opt.Canaries, "devices", nil, "announce it first to these booths (IDs, comma-separated)")
	c.Flags().StringVar(&opt.Notes, "notes", "", "release notes shown with its status")
	c.Flags().BoolVar(&opt.AllowDowngrade, "allow-downgrade", false, "let booths running a newer version install it")
	c.RunE = cmd.online(func(a []string) error {
		if opt.CanaryPercent != 0 && len(opt.Canaries) > 0 {
			return &usageError{errors.New("firmware publish: give --canary or --devices, not both")}
		}
		if opt.CanaryPercent < 0 || opt.CanaryPercent > 100 {
			return &usageError{fmt.Errorf("firmware publish: --canary %d is not a percentage from 1 to 100", opt.CanaryPercent)}
		}
		f, err := os.Open(a[0])
		if err != nil {
			return fmt.Errorf("firmware publish: %w", err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("firmware publish: %w", err)
		}
		bar := cmd.p.Progress(fi.Size(), "uploading "+filepath.Base(a[0]))
		r, err := cmd.c.PublishFirmware(cmd.ctx, bar.Reader(f), fi.Size(), opt)
		bar.Finish()
		if err != nil {
			return err
		}
		first := "every booth"
		if r.Phase == "canary" {
			first = fmt.Sprintf("%d canary booth(s) first", ringSize(r, "canary"))
		}
		return cmd.p.Record(r, "published %s for %s as release %s; announced to %s", r.Version, r.Target, r.ID, first)
	})
	return c
}

func ringSize(r apiclient.Release, name string) int {
	for _, ring := range r.Rings {
		if ring.Name == name {
			return ring.Devices
		}
	}
	return 0
}

func (cmd *command) firmwareStatusCommand() *cobra.Command {
	c := &cobra.Command{Use: "status [RELEASE]", Short: "The releases, or one release's rollout per ring and device (fleet admins)",
		Args: func(c *cobra.Command, a []string) error {
			if len(a) > 1 {
				return &usageError{fmt.Errorf("%s: want at most one RELEASE, got %d arguments", c.CommandPath(), len(a))}
			}
			return nil
		}}
	c.RunE = cmd.online(func(a []string) error {
		if len(a) == 0 {
			rs, err := cmd.c.Releases(cmd.ctx)
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(rs))
			for _, r := range rs {
				rows = append(rows, []string{r.ID, r.Version, r.Target.String(), rolloutState(r), summary(r), r.Created.Local().Format(time.DateTime)})
			}
			return cmd.p.List(rs, []string{"ID", "VERSION", "TARGET", "ROLLOUT", "DEVICES", "PUBLISHED"}, rows)
		}
		r, err := cmd.c.Release(cmd.ctx, a[0])
		if err != nil {
			return err
		}
		return cmd.printRelease(r)
	})
	return c
}

// rolloutState is "canary", "all" or "paused (why)".
func rolloutState(r apiclient.Release) string {
	if r.Paused {
		return "paused: " + r.PausedReason
	}
	return r.Phase
}

// summary counts the release's devices by stage, e.g. "committed 3, downloading 1".
func summary(r apiclient.Release) string {
	n := map[string]int{}
	for _, ring := range r.Rings {
		for st, c := range ring.Stages {
			n[st] += c
		}
	}
	if len(n) == 0 {
		return "none yet"
	}
	return stagesOf(n)
}

func (cmd *command) printRelease(r apiclient.Release) error {
	if cmd.p.JSON {
		return cmd.p.Record(r, "")
	}
	w := cmd.e.stdout
	fmt.Fprintf(w, "release %s: %s for %s, %d bytes, published %s\n", r.ID, r.Version, r.Target, r.Size, r.Created.Local().Format(time.DateTime))
	if r.Notes != "" {
		fmt.Fprintf(w, "notes: %s\n", r.Notes)
	}
	fmt.Fprintf(w, "rollout: %s\n\n", rolloutState(r))
	rows := [][]string{}
	for _, ring := range r.Rings {
		rows = append(rows, []string{ring.Name, fmt.Sprint(ring.Devices), stagesOf(ring.Stages)})
	}
	if err := cmd.p.List(nil, []string{"RING", "BOOTHS", "STAGES"}, rows); err != nil {
		return err
	}
	if len(r.Devices) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	rows = rows[:0]
	for _, d := range r.Devices {
		stage := string(d.Stage)
		if d.Stage == "downloading" {
			stage = fmt.Sprintf("downloading %d%%", d.Percent)
		}
		rows = append(rows, []string{d.DeviceID, d.Ring, stage, d.Running, d.Reason})
	}
	return cmd.p.List(nil, []string{"DEVICE", "RING", "STAGE", "RUNNING", "REASON"}, rows)
}

func stagesOf(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (cmd *command) rolloutCommand(action, short string) *cobra.Command {
	c := &cobra.Command{Use: action + " RELEASE", Short: short + " (fleet admins)", Args: args(1, "the RELEASE id")}
	c.RunE = cmd.online(func(a []string) error {
		r, err := cmd.c.SteerRollout(cmd.ctx, a[0], action)
		if err != nil {
			return err
		}
		return cmd.p.Record(r, "release %s (%s): %s", r.ID, r.Version, rolloutState(r))
	})
	return c
}
