// Package fbdev puts the booth's screen on a Linux framebuffer device (/dev/fb0), the
// simplest display path on a Raspberry Pi (the vc4/v3d KMS driver's fbdev emulation, or
// the firmware framebuffer) and on any Linux panel without a compositor.
//
// Open reads the device's geometry and pixel format with the FBIOGET_VSCREENINFO and
// FBIOGET_FSCREENINFO ioctls (include/uapi/linux/fb.h,
// https://www.kernel.org/doc/html/latest/fb/api.html), maps its memory, and Show packs each
// RGBA frame into it: RGB565 (16 bpp) and XRGB8888/BGRA, RGBA or any other 8-bit-per-
// channel 32 bpp layout, and 24 bpp, honouring the red/green/blue bitfield offsets and
// lengths, the line length (stride) and the panning offsets the driver reports. Pixels are
// written in the CPU's byte order, little-endian on every board the booth runs on.
//
// A device with 2 or 4 bytes a pixel is also a screen.FramePanel: the display draws its
// frames in the device's own layout ([Format.PixelLayout]), and ShowFrame copies only the
// rectangle that changed, a line at a time ([PackFrame]), rather than converting every
// RGBA frame.
//
// The packing is pure functions ([Pack], [PackFrame]) over a byte slice and a [Format],
// tested without a device. The device itself is reached only on Linux; elsewhere Open says it was built
// without framebuffer support.
package fbdev
