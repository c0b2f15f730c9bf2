package store

import "github.com/carebooth/carebooth/boltfile"

// DefaultCompactFree is how many bytes of free pages make OpenBolt compact the file.
const DefaultCompactFree = 8 << 20

// Compaction reports what OpenBolt's compaction did; see boltfile.Compact.
type Compaction = boltfile.Compaction
