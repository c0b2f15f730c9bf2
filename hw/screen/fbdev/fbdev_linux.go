package fbdev

import (
	"fmt"
	"image"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/carebooth/carebooth/hw/screen"
)

// From include/uapi/linux/fb.h.
const (
	fbioGetVScreenInfo = 0x4600
	fbioGetFScreenInfo = 0x4602
	fbTypePackedPixels = 0
	fbVisualTrueColor  = 2
)

type fbBitfield struct {
	Offset, Length, MsbRight uint32
}

// fbVarScreenInfo is struct fb_var_screeninfo.
type fbVarScreenInfo struct {
	XRes, YRes, XResVirtual, YResVirtual, XOffset, YOffset uint32
	BitsPerPixel, Grayscale                                uint32
	Red, Green, Blue, Transp                               fbBitfield
	NonStd, Activate, Height, Width, AccelFlags            uint32
	PixClock, LeftMargin, RightMargin, UpperMargin         uint32
	LowerMargin, HSyncLen, VSyncLen, Sync, VMode, Rotate   uint32
	Colorspace                                             uint32
	Reserved                                               [4]uint32
}

// fbFixScreenInfo is struct fb_fix_screeninfo; Go lays it out as C does on 32- and 64-bit
// Linux (unsigned long is uintptr).
type fbFixScreenInfo struct {
	ID                            [16]byte
	SmemStart                     uintptr
	SmemLen, Type, TypeAux        uint32
	Visual                        uint32
	XPanStep, YPanStep, YWrapStep uint16
	LineLength                    uint32
	MmioStart                     uintptr
	MmioLen, Accel                uint32
	Capabilities                  uint16
	Reserved                      [2]uint16
}

// FB is an open framebuffer device, mapped into memory. It is a screen.FramePanel.
type FB struct {
	path   string
	f      *os.File
	format Format
	layout *screen.PixelLayout // nil for a layout the renderer does not draw
	mem    []byte
	mu     sync.Mutex // guards mem against Close during Show
}

var _ screen.FramePanel = (*FB)(nil)

// Open opens and maps the framebuffer device at path (usually /dev/fb0).
func Open(path string) (*FB, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open framebuffer: %w", err)
	}
	format, size, err := query(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("framebuffer %s: %w", path, err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("framebuffer %s: map %d bytes: %w", path, size, err)
	}
	// A 24 bpp framebuffer has no layout; the display then sends RGBA frames to Show.
	layout, _ := format.PixelLayout()
	return &FB{path: path, f: f, format: format, layout: layout, mem: mem}, nil
}

// query reads the device's format and the size of its memory.
func query(f *os.File) (Format, int, error) {
	var v fbVarScreenInfo
	var fx fbFixScreenInfo
	if err := ioctl(f, fbioGetVScreenInfo, unsafe.Pointer(&v)); err != nil {
		return Format{}, 0, fmt.Errorf("FBIOGET_VSCREENINFO: %w (is it a framebuffer device?)", err)
	}
	if err := ioctl(f, fbioGetFScreenInfo, unsafe.Pointer(&fx)); err != nil {
		return Format{}, 0, fmt.Errorf("FBIOGET_FSCREENINFO: %w", err)
	}
	if fx.Type != fbTypePackedPixels || fx.Visual != fbVisualTrueColor {
		return Format{}, 0, fmt.Errorf("type %d visual %d: only packed-pixel true-colour framebuffers are supported", fx.Type, fx.Visual)
	}
	format := Format{
		Width: int(v.XRes), Height: int(v.YRes), BitsPerPixel: int(v.BitsPerPixel), Stride: int(fx.LineLength),
		XOffset: int(v.XOffset), YOffset: int(v.YOffset),
		Red:   Bitfield{v.Red.Offset, v.Red.Length},
		Green: Bitfield{v.Green.Offset, v.Green.Length},
		Blue:  Bitfield{v.Blue.Offset, v.Blue.Length},
		Alpha: Bitfield{v.Transp.Offset, v.Transp.Length},
	}
	if err := format.Check(); err != nil {
		return Format{}, 0, fmt.Errorf("%v: %w", format, err)
	}
	if format.Size() > int(fx.SmemLen) {
		return Format{}, 0, fmt.Errorf("%v needs %d bytes but the device has %d", format, format.Size(), fx.SmemLen)
	}
	return format, int(fx.SmemLen), nil
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// Format is the device's geometry and pixel layout.
func (fb *FB) Format() Format { return fb.format }

// Size is the visible screen's size.
func (fb *FB) Size() image.Point { return image.Pt(fb.format.Width, fb.format.Height) }

// Show packs img into the framebuffer.
func (fb *FB) Show(img *image.RGBA) error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.mem == nil {
		return fmt.Errorf("framebuffer %s: closed", fb.path)
	}
	Pack(fb.mem, fb.format, img)
	return nil
}

// PixelLayout is the device's pixel layout, or nil if the renderer cannot draw it.
func (fb *FB) PixelLayout() *screen.PixelLayout { return fb.layout }

// ShowFrame copies the part of f inside dirty into the framebuffer.
func (fb *FB) ShowFrame(f *screen.Frame, dirty image.Rectangle) error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.mem == nil {
		return fmt.Errorf("framebuffer %s: closed", fb.path)
	}
	if fb.layout == nil || f.Layout != fb.layout {
		return fmt.Errorf("framebuffer %s: a frame in another pixel layout than %v", fb.path, fb.format)
	}
	PackFrame(fb.mem, fb.format, f, dirty)
	return nil
}

// Close unmaps and closes the device. It is idempotent.
func (fb *FB) Close() error {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.mem == nil {
		return nil
	}
	err := unix.Munmap(fb.mem)
	fb.mem = nil
	if cerr := fb.f.Close(); err == nil {
		err = cerr
	}
	return err
}
