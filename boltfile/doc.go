// Package boltfile opens the bbolt database files of both the booth (booth.db) and the
// switchboard (switchboard.db) the one way: Open waits a bounded time for another
// process's lock and then says so, keeps a schema version in the "meta" bucket (a
// big-endian uint32; the switchboard's older decimal text is read and rewritten), runs the
// forward migrations in the opening transaction, and refuses a file written by newer code
// with an error naming the file and both versions. It can compact a file first, since
// bbolt never returns pages to the file system; Compact swaps the copy in atomically, so
// a power cut at any moment leaves either the old file or the complete new one.
//
// bbolt: https://pkg.go.dev/go.etcd.io/bbolt, and its caveats on file size,
// https://github.com/etcd-io/bbolt#caveats--limitations.
package boltfile
