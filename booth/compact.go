package booth

import "github.com/carebooth/carebooth/boltfile"

// Compaction reports what a start-up compaction of the booth's database did.
type Compaction = boltfile.Compaction
