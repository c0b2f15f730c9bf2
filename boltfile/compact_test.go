package boltfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// grown makes a bbolt file that once held 2,000 1 KiB values and now keeps only ten.
func grown(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 1024)
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("q"))
		if err != nil {
			return err
		}
		for i := range 2000 {
			if err := b.Put(fmt.Appendf(nil, "%05d", i), val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("q"))
		for i := 10; i < 2000; i++ {
			if err := b.Delete(fmt.Appendf(nil, "%05d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompactShrinksAndKeepsData(t *testing.T) {
	path := grown(t)
	if err := os.WriteFile(path+".compact", []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Compact(path, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.SizeAfter >= res.SizeBefore/2 || res.FreeBytes < 64<<10 {
		t.Fatalf("got %+v, want the file rewritten at under half its size", res)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("stale copy: got %v, want it gone", err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	n := 0
	db.View(func(tx *bolt.Tx) error { n = tx.Bucket([]byte("q")).Stats().KeyN; return nil })
	if n != 10 {
		t.Errorf("got %d keys after compaction, want 10", n)
	}
}

func TestCompactLeavesASmallFileAlone(t *testing.T) {
	path := grown(t)
	res, err := Compact(path, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if res.Done || res.SizeAfter != res.SizeBefore {
		t.Errorf("got %+v, want nothing done below the threshold", res)
	}
}

func TestCompactMissingFile(t *testing.T) {
	res, err := Compact(filepath.Join(t.TempDir(), "none.db"), 0)
	if err != nil || res.Done {
		t.Errorf("got %+v, %v, want nothing done and no error", res, err)
	}
}
