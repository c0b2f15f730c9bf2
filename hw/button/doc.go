// Package button provides the booth's button events, the GPIO button source and the
// simulated ones.
//
// A booth has six big buttons: Join, End, Help, Mute, VolumeUp and VolumeDown. A [Source]
// delivers [Event]s (a Press, or a LongPress for a button held down) on a channel until its
// context is cancelled.
//
// [GPIO] reads buttons wired to GPIO lines through periph.io's gpio.PinIn (on a device,
// lines from the Linux GPIO character device, periph.io/x/host/v3/gpioioctl, which serves
// the Raspberry Pi 4 and 5; in tests, periph's gpiotest.Pin). It debounces with an injected
// clock by "wait for quiet, then sample": an edge only says the line may have changed, and
// the level is read once the line has been quiet for the debounce interval (30 ms by
// default), so contact bounce is one press and a glitch shorter than the interval is none.
// Buttons without a long press send Press as soon as they are down; a button with one (End:
// hold 3 s to cancel) sends Press when released early and LongPress when the threshold
// passes while it is still held. A button with Repeat (the volume buttons) presses again
// while held: after 600 ms, then every 300 ms. A button that reads pressed at start is ignored until it
// is released, with a warning naming it (a jammed button or a wrong active level).
// periph's WaitForEdge cannot be cancelled, so each line is watched with a short timeout in
// a loop that checks the context. Which presses mean something in which state is the
// booth's business, not this package's.
//
// A quadrature rotary encoder can stand in for the volume buttons ([GPIOEncoder]): each
// click presses VolumeUp or VolumeDown. Its Gray code needs no debounce interval (a
// bouncing contact counts +1 -1 +1 and nets out), and the count is settled at each detent.
//
// Wiring (see docs/device-io.md): a momentary switch from the GPIO line to ground, the
// line's internal pull-up on, active low. The kernel's line offsets are used, which on a
// Raspberry Pi are the BCM GPIO numbers (GPIO17 is physical pin 11).
//
// Two simulated sources exist:
//   - [Sim], pressed from code (tests, the end-to-end harness) with Press and Hold.
//   - [Keyboard], which reads key strokes from an io.Reader: 'j' Join, 'e' End, 'E' a long
//     press of End, 'h' Help, 'm' Mute, '+' volume up, '-' volume down. Any other upper-case
//     letter of a mapped key is a long press of that button. [OpenTerminal] puts a terminal
//     into character-at-a-time mode for it and restores it afterwards.
package button
