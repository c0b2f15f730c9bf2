package slot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/carebooth/carebooth/atomicfile"
	"github.com/carebooth/carebooth/firmware/bundle"
)

// LinkName is the symlink in a Dirs root that names the slot to run.
const LinkName = "current"

// Dirs is the development and test slot mechanism: two directories, root/a and root/b,
// and the symlink root/current naming one of them (relative, so the root can move).
// A service runs root/current/bin/boothd, so what it starts is what the link names;
// Booted reads the link. Switching writes the new link under a temporary name and renames
// it over the old one (rename(2) is atomic), then fsyncs the root.
type Dirs struct {
	root string
	step func(string) // tests: called after each durable step
}

var (
	_ Switcher = (*Dirs)(nil)
	_ Store    = (*Dirs)(nil)
)

// NewDirs opens the slots under root, creating root, both slot directories and a link to
// slot a if they are missing.
func NewDirs(root string) (*Dirs, error) {
	d := &Dirs{root: root}
	for _, n := range []Name{A, B} {
		if err := os.MkdirAll(filepath.Join(root, string(n)), 0o755); err != nil {
			return nil, fmt.Errorf("slot directories: %w", err)
		}
	}
	if _, err := os.Lstat(d.link()); errors.Is(err, fs.ErrNotExist) {
		if err := d.point(A); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("slot link: %w", err)
	}
	return d, nil
}

// Dir returns slot n's directory.
func (d *Dirs) Dir(n Name) string { return filepath.Join(d.root, string(n)) }

func (d *Dirs) link() string { return filepath.Join(d.root, LinkName) }

func (d *Dirs) did(step string) {
	if d.step != nil {
		d.step(step)
	}
}

// Booted returns the slot the link names.
func (d *Dirs) Booted() (Name, error) {
	target, err := os.Readlink(d.link())
	if err != nil {
		return "", fmt.Errorf("read slot link: %w", err)
	}
	n := Name(target)
	if !n.valid() {
		return "", fmt.Errorf("slot link %s names %q, not a or b; point it at a slot (ln -sfn a %s)", d.link(), target, d.link())
	}
	return n, nil
}

// Try points the link at n; a directory cannot try once, so a crash loop is caught by the
// Manager's count of tries instead of by the bootloader.
func (d *Dirs) Try(n Name) error { return d.point(n) }

// Commit points the link at n.
func (d *Dirs) Commit(n Name) error { return d.point(n) }

func (d *Dirs) point(n Name) error {
	if !n.valid() {
		return fmt.Errorf("switch slot link: %q is not a slot", n)
	}
	if cur, err := os.Readlink(d.link()); err == nil && cur == string(n) {
		return nil
	}
	tmp := filepath.Join(d.root, "."+LinkName+".tmp")
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("switch slot link: %w", err)
	}
	if err := os.Symlink(string(n), tmp); err != nil {
		return fmt.Errorf("switch slot link: %w", err)
	}
	d.did("link: new link written")
	if err := os.Rename(tmp, d.link()); err != nil {
		return fmt.Errorf("switch slot link: %w", err)
	}
	d.did("link: renamed into place")
	if err := atomicfile.SyncDir(d.root); err != nil {
		return fmt.Errorf("switch slot link: %w", err)
	}
	d.did("link: directory synced")
	return nil
}

// Wipe empties slot n.
func (d *Dirs) Wipe(n Name) error {
	dir := d.Dir(n)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("wipe slot %s: %w", n, err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("wipe slot %s: %w", n, err)
	}
	if err := atomicfile.SyncDir(d.root); err != nil {
		return fmt.Errorf("wipe slot %s: %w", n, err)
	}
	return nil
}

// Write copies the staged files into slot n through an os.Root (no path can leave the
// slot), each created new, hashed as it is copied, fsync'd, and then every directory
// fsync'd.
func (d *Dirs) Write(n Name, st *bundle.Staged) error {
	root, err := os.OpenRoot(d.Dir(n))
	if err != nil {
		return fmt.Errorf("write slot %s: %w", n, err)
	}
	defer root.Close()
	src, err := os.OpenRoot(st.Dir)
	if err != nil {
		return fmt.Errorf("write slot %s: staging: %w", n, err)
	}
	defer src.Close()
	dirs := map[string]bool{".": true}
	for _, f := range st.Manifest.Files {
		for p := path.Dir(f.Path); !dirs[p]; p = path.Dir(p) {
			dirs[p] = true
		}
		if err := copyFile(root, src, f); err != nil {
			return fmt.Errorf("write slot %s: %w", n, err)
		}
		d.did("write: " + f.Path)
	}
	for p := range dirs {
		if err := syncDirIn(root, p); err != nil {
			return fmt.Errorf("write slot %s: %w", n, err)
		}
	}
	d.did("write: directories synced")
	return nil
}

func copyFile(dst, src *os.Root, f bundle.File) (err error) {
	in, err := src.Open(f.Path)
	if err != nil {
		return err
	}
	defer in.Close()
	if dir := path.Dir(f.Path); dir != "." {
		if err := dst.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	out, err := dst.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		return fmt.Errorf("copy %s: %w", f.Path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		return fmt.Errorf("copy %s: %w: the staged copy changed since it was checked; stage the bundle again", f.Path, bundle.ErrHash)
	}
	if err := out.Chmod(f.Perm()); err != nil {
		return err
	}
	return out.Sync()
}

func syncDirIn(root *os.Root, p string) error {
	f, err := root.Open(p)
	if err != nil {
		return err
	}
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("fsync %s: %w", strings.TrimPrefix(p, "./"), err)
	}
	return nil
}
