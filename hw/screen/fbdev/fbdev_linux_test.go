package fbdev

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// The ioctl structures must match the kernel's sizes exactly or the ioctls write past them.
func TestStructSizes(t *testing.T) {
	if got := unsafe.Sizeof(fbVarScreenInfo{}); got != 160 {
		t.Errorf("fb_var_screeninfo: %d bytes, want 160", got)
	}
	want := uintptr(80) // 64-bit
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 68
	}
	if got := unsafe.Sizeof(fbFixScreenInfo{}); got != want {
		t.Errorf("fb_fix_screeninfo: %d bytes, want %d", got, want)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "fb0")
	if err := os.WriteFile(plain, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{plain, "FBIOGET_VSCREENINFO"},
	} {
		fb, err := Open(tc.path)
		if err == nil {
			fb.Close()
			t.Errorf("Open(%s): no error", tc.path)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s): %v, want it to mention %q", tc.path, err, tc.want)
		}
	}
}

// TestOpenRealFramebuffer opens /dev/fb0 when the machine has one (a Pi on the bench) and
// checks its format is one Pack handles; it does not draw, so it never scribbles over a
// developer's console. CI and containers have no framebuffer and skip.
func TestOpenRealFramebuffer(t *testing.T) {
	if _, err := os.Stat("/dev/fb0"); err != nil {
		t.Skip("no /dev/fb0 on this machine")
	}
	fb, err := Open("/dev/fb0")
	if err != nil {
		t.Skipf("cannot open /dev/fb0 (needs the video group or root): %v", err)
	}
	defer fb.Close()
	t.Logf("format: %v", fb.Format())
	if err := fb.Format().Check(); err != nil || fb.Size().X <= 0 || fb.Size().Y <= 0 {
		t.Errorf("format %v, size %v: %v", fb.Format(), fb.Size(), err)
	}
	if err := fb.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := fb.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
