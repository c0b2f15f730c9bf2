//go:build !linux

package netwatch

// Watch is not supported here.
func Watch() (*Watcher, error) { return nil, ErrUnsupported }
