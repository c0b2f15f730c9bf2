package store

import "github.com/carebooth/carebooth/boltfile"

// DefaultCompactFree is how many bytes of free pages make OpenBolt compact the file.
const DefaultCompactFree = 8 << 20

// Compaction reports what CompactFile did.
type Compaction = boltfile.Compaction

// CompactFile compacts the bbolt file at path when its free pages hold at least minFree
// bytes; see boltfile.Compact.
func CompactFile(path string, minFree int64) (Compaction, error) {
	return boltfile.Compact(path, minFree)
}
