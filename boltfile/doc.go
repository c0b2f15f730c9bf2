// Package boltfile provides maintenance of bbolt database files that both the booth and
// the switchboard need: compacting a file whose free pages have grown, with an atomic swap
// so a power cut at any moment leaves either the old file or the complete new one.
//
// bbolt (go.etcd.io/bbolt) never returns pages to the file system; see its Compact
// function and https://github.com/etcd-io/bbolt#caveats--limitations.
package boltfile
