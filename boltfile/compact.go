package boltfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/carebooth/carebooth/atomicfile"
)

// Compaction reports what Compact did.
type Compaction struct {
	Done       bool  // the file was rewritten
	FreeBytes  int64 // bytes in free pages before
	SizeBefore int64 // file size before
	SizeAfter  int64 // file size after (SizeBefore when not done)
	Threshold  int64 // minFree, the threshold used
}

// Compact rewrites the bbolt file at path into a fresh file when its free pages hold
// at least minFree bytes, and renames the copy over the original. bbolt never gives pages
// back to the file system, so a file that once held a large queue stays large; this is
// how it shrinks. The file must not be open elsewhere (bbolt's lock keeps another
// process out; call it before opening the store).
//
// The copy is fsync'd before the rename and the directory after it, so a crash at any
// moment leaves either the old file or the complete new one (plus, at worst, a stale
// path+".compact" that the next call removes).
func Compact(path string, minFree int64) (Compaction, error) {
	return compact(path, minFree, DefaultTimeout)
}

func compact(path string, minFree int64, timeout time.Duration) (Compaction, error) {
	res := Compaction{Threshold: minFree}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	res.SizeBefore, res.SizeAfter = fi.Size(), fi.Size()
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("compact %s: remove stale copy: %w", path, err)
	}
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	defer src.Close()
	st := src.Stats()
	res.FreeBytes = int64(st.FreePageN+st.PendingPageN) * int64(src.Info().PageSize)
	if res.FreeBytes < minFree {
		return res, nil
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return res, fmt.Errorf("compact %s: create copy: %w", path, err)
	}
	if err := bolt.Compact(dst, src, 16<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return res, fmt.Errorf("compact %s: copy: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("compact %s: close copy: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	// Rename while src still holds the lock: nobody can open the old file in between.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("compact %s: rename copy into place: %w", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	res.Done = true
	if fi, err := os.Stat(path); err == nil {
		res.SizeAfter = fi.Size()
	}
	return res, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}
