package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"

	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Migration upgrades a file from one schema version to the next inside the opening write
// transaction. migrations[v] takes version v to v+1; version 0 is a new, empty file, so
// the code's schema version is len(migrations).
type Migration func(tx *bolt.Tx) error

// The bucket and key that hold a file's schema version, as a big-endian uint32.
const (
	MetaBucket       = "meta"
	SchemaVersionKey = "schema_version"
)

// DefaultTimeout is how long Open waits for another process to let go of the file.
const DefaultTimeout = 2 * time.Second

// ErrNewer is wrapped by the error Open returns for a file written by newer code.
var ErrNewer = errors.New("schema version newer than this program's")

// ErrLocked is wrapped by the error Open returns when another process holds the file.
var ErrLocked = errors.New("file is open in another process")

// Options tune OpenWith.
type Options struct {
	// Compact: before opening, compact the file when its free pages hold at least
	// CompactFree bytes (see Compact). bbolt never shrinks a file by itself.
	Compact     bool
	CompactFree int64
	// Timeout is how long to wait for another process's lock; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Result reports what OpenWith did besides opening.
type Result struct {
	Compaction Compaction
	// From is the schema version the file had (0: new), To the one it has now.
	From, To int
}

// Open opens or creates the bbolt file at path with mode 0600 and migrates it forward to
// len(migrations); see OpenWith.
func Open(path string, migrations []Migration) (*bolt.DB, error) {
	db, _, err := OpenWith(path, migrations, Options{})
	return db, err
}

// OpenWith opens or creates the bbolt file at path (mode 0600), waiting at most
// o.Timeout for another process to close it, then, in one write transaction, reads the
// schema version from the meta bucket, runs migrations[version:] and stores the new
// version. A power cut in between leaves the file as it was. A file whose version is above
// len(migrations) is refused (ErrNewer) and left untouched.
//
// Versions stored as decimal text (the switchboard's encoding before boltfile) are read
// too, and rewritten as a big-endian uint32 in the same transaction.
func OpenWith(path string, migrations []Migration, o Options) (*bolt.DB, Result, error) {
	var res Result
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Compact {
		c, err := compact(path, o.CompactFree, o.Timeout)
		res.Compaction = c
		if err != nil {
			return nil, res, lockedErr(path, o.Timeout, err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout})
	if err != nil {
		return nil, res, lockedErr(path, o.Timeout, fmt.Errorf("open %s: %w", path, err))
	}
	want := len(migrations)
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists([]byte(MetaBucket))
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", MetaBucket, err)
		}
		v, err := decodeVersion(meta.Get([]byte(SchemaVersionKey)))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		res.From = v
		if v > want {
			return fmt.Errorf("%s has schema version %d, this program knows up to %d: %w (run a newer version, or move the file away to start afresh)", path, v, want, ErrNewer)
		}
		for ; v < want; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("%s: migrate schema %d to %d: %w", path, v, v+1, err)
			}
		}
		res.To = want
		return tx.Bucket([]byte(MetaBucket)).Put([]byte(SchemaVersionKey), binary.BigEndian.AppendUint32(nil, uint32(want)))
	})
	if err != nil {
		db.Close()
		return nil, res, err
	}
	return db, res, nil
}

// Version returns the schema version stored in tx's file (0 when none is).
func Version(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket([]byte(MetaBucket))
	if meta == nil {
		return 0, nil
	}
	return decodeVersion(meta.Get([]byte(SchemaVersionKey)))
}

// decodeVersion reads a big-endian uint32 (the booth's encoding, and boltfile's) or
// decimal text (the switchboard's before boltfile). The two cannot be confused: a
// big-endian version below 0x30303030 has a zero first byte, never an ASCII digit.
func decodeVersion(raw []byte) (int, error) {
	if raw == nil {
		return 0, nil
	}
	if len(raw) > 0 && len(raw) <= 9 && allDigits(raw) {
		n, err := strconv.Atoi(string(raw))
		if err == nil {
			return n, nil
		}
	}
	if len(raw) == 4 {
		return int(binary.BigEndian.Uint32(raw)), nil
	}
	return 0, fmt.Errorf("schema_version %q is neither a 4-byte big-endian number nor decimal text", raw)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func lockedErr(path string, timeout time.Duration, err error) error {
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("%s: %w (waited %s; is another copy of this program running on the same state directory?): %w", path, ErrLocked, timeout, err)
	}
	return err
}
