package boltfile

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migrationsLog returns n migrations that each append their index to *ran and create a
// bucket named after it.
func migrationsLog(n int, ran *[]int) []Migration {
	var ms []Migration
	for i := range n {
		ms = append(ms, func(tx *bolt.Tx) error {
			*ran = append(*ran, i)
			_, err := tx.CreateBucketIfNotExists([]byte{'b', byte('0' + i)})
			return err
		})
	}
	return ms
}

// writeOld makes a file the way the stores did before boltfile: a meta bucket whose
// schema_version is raw.
func writeOld(t *testing.T, path string, raw []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return meta.Put([]byte("schema_version"), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func storedVersion(t *testing.T, db *bolt.DB) []byte {
	t.Helper()
	var raw []byte
	db.View(func(tx *bolt.Tx) error {
		raw = append(raw, tx.Bucket([]byte("meta")).Get([]byte("schema_version"))...)
		return nil
	})
	return raw
}

// Files written in either old encoding open, run only the migrations they lack, and are
// left in the one encoding.
func TestOpenReadsBothOldEncodings(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte // nil: no file before
		wantRan []int
	}{
		{"new file", nil, []int{0, 1, 2, 3}},
		{"booth big-endian uint32 2", binary.BigEndian.AppendUint32(nil, 2), []int{2, 3}},
		{"switchboard decimal text 1", []byte("1"), []int{1, 2, 3}},
		{"switchboard decimal text 4", []byte("4"), nil},
		{"big-endian uint32 4", binary.BigEndian.AppendUint32(nil, 4), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			if tt.raw != nil {
				writeOld(t, path, tt.raw)
			}
			var ran []int
			db, res, err := OpenWith(path, migrationsLog(4, &ran), Options{})
			if err != nil {
				t.Fatalf("open: got %v, want nil", err)
			}
			defer db.Close()
			if len(ran) != len(tt.wantRan) || (len(ran) > 0 && ran[0] != tt.wantRan[0]) {
				t.Errorf("migrations run: got %v, want %v", ran, tt.wantRan)
			}
			if res.To != 4 {
				t.Errorf("result: got %+v, want To 4", res)
			}
			if got := storedVersion(t, db); len(got) != 4 || binary.BigEndian.Uint32(got) != 4 {
				t.Errorf("stored version: got %x, want 00000004", got)
			}
			var v int
			db.View(func(tx *bolt.Tx) (err error) { v, err = Version(tx); return err })
			if v != 4 {
				t.Errorf("Version: got %d, want 4", v)
			}
		})
	}
}

func TestOpenRefusesNewerFile(t *testing.T) {
	for _, raw := range [][]byte{[]byte("99"), binary.BigEndian.AppendUint32(nil, 7)} {
		path := filepath.Join(t.TempDir(), "state.db")
		writeOld(t, path, raw)
		var ran []int
		_, err := Open(path, migrationsLog(3, &ran))
		if !errors.Is(err, ErrNewer) || !strings.Contains(err.Error(), path) {
			t.Errorf("open a version %x file: got %v, want ErrNewer naming %s", raw, err, path)
		}
		if len(ran) != 0 {
			t.Errorf("migrations run on a newer file: got %v, want none", ran)
		}
		// The file is left as it was.
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := storedVersion(t, db); string(got) != string(raw) {
			t.Errorf("version after refusal: got %x, want %x", got, raw)
		}
		db.Close()
	}
}

func TestOpenRefusesGarbledVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	writeOld(t, path, []byte("v3"))
	if _, err := Open(path, nil); err == nil || !strings.Contains(err.Error(), "schema_version") {
		t.Errorf("got %v, want an error naming schema_version", err)
	}
}

// A failing migration leaves the file at its old version: nothing of it is kept.
func TestOpenFailedMigrationKeepsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	boom := errors.New("boom")
	ms := []Migration{
		func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("a")); return err },
		func(tx *bolt.Tx) error { return boom },
	}
	if _, err := Open(path, ms); !errors.Is(err, boom) || !strings.Contains(err.Error(), "migrate schema 1 to 2") {
		t.Fatalf("got %v, want boom while migrating 1 to 2", err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("a")) != nil || tx.Bucket([]byte("meta")) != nil {
			t.Error("after a failed migration: got buckets written, want none")
		}
		return nil
	})
}

// A second opener gets a clear error after the timeout, not a hang.
func TestOpenLockedByAnother(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, o := range []Options{{Timeout: 50 * time.Millisecond}, {Timeout: 50 * time.Millisecond, Compact: true}} {
		start := time.Now()
		_, _, err := OpenWith(path, nil, o)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
			t.Errorf("second open %+v: got %v, want ErrLocked naming the file", o, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("second open took %s, want about the timeout", d)
		}
	}
}

func TestOpenCompactsFirst(t *testing.T) {
	path := grown(t)
	db, res, err := OpenWith(path, nil, Options{Compact: true, CompactFree: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !res.Compaction.Done {
		t.Errorf("compaction: got %+v, want done", res.Compaction)
	}
}
