// Package button provides the booth's button events and the simulated button sources.
//
// A booth has six big buttons: Join, End, Help, Mute, VolumeUp and VolumeDown. A [Source]
// delivers [Event]s (a Press, or a LongPress for a button held down) on a channel until its
// context is cancelled. The shape is chosen so a GPIO source fits later: periph.io's
// gpio.PinIO.WaitForEdge cannot be cancelled, so that source will wait with a short timeout
// in a loop that checks the context and turns debounced edges into Events.
//
// Two simulated sources exist now:
//   - [Sim], pressed from code (tests, the end-to-end harness) with Press and Hold.
//   - [Keyboard], which reads key strokes from an io.Reader: 'j' Join, 'e' End, 'E' a long
//     press of End, 'h' Help, 'm' Mute, '+' volume up, '-' volume down. Any other upper-case
//     letter of a mapped key is a long press of that button. [OpenTerminal] puts a terminal
//     into character-at-a-time mode for it and restores it afterwards.
package button
