package booth

import "github.com/carebooth/carebooth/boltfile"

// Compaction reports what a start-up compaction of the booth's database did.
type Compaction = boltfile.Compaction

// compactFile compacts the bbolt file at path when its free pages hold at least minFree
// bytes; see boltfile.Compact.
func compactFile(path string, minFree int64) (Compaction, error) {
	return boltfile.Compact(path, minFree)
}
