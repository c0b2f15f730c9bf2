//go:build !linux

package fbdev

import (
	"errors"
	"image"

	"github.com/carebooth/carebooth/hw/screen"
)

// ErrUnsupported is returned by Open on systems without Linux framebuffers.
var ErrUnsupported = errors.New("fbdev: built without framebuffer support (Linux only)")

// FB is a framebuffer device; only Linux has them.
type FB struct{}

// Open fails: framebuffer devices are Linux only.
func Open(path string) (*FB, error) { return nil, ErrUnsupported }

// Format is the zero Format.
func (fb *FB) Format() Format { return Format{} }

// Size is zero.
func (fb *FB) Size() image.Point { return image.Point{} }

// Show fails.
func (fb *FB) Show(*image.RGBA) error { return ErrUnsupported }

// PixelLayout is nil.
func (fb *FB) PixelLayout() *screen.PixelLayout { return nil }

// ShowFrame fails.
func (fb *FB) ShowFrame(*screen.Frame, image.Rectangle) error { return ErrUnsupported }

// Close does nothing.
func (fb *FB) Close() error { return nil }
