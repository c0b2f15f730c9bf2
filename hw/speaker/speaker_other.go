//go:build !linux

package speaker

import (
	"context"
	"fmt"
)

// Speaker is an open sound output. This build has none.
type Speaker struct{}

// Open fails: this binary was built without speaker support.
func Open(cfg Config, src Source) (*Speaker, error) {
	return nil, fmt.Errorf("open speaker %q: %w: built without speaker support (Linux only)", cfg.Device, ErrNoSpeaker)
}

// Name is the device's name.
func (s *Speaker) Name() string { return "" }

// Run returns when ctx is done.
func (s *Speaker) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// Close does nothing.
func (s *Speaker) Close() error { return nil }
