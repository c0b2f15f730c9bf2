// Package light provides the booth's status light: what it shows for each state of the
// booth ([For], a pure function from a [Status] to a [Pattern]), a driver that plays
// patterns on GPIO lines ([GPIO]), and a simulated light that logs and tells the screen
// what it shows ([Sim]).
//
// The light is for people who may not read the screen: older people, people with low
// vision, someone across the room. Every state has its own combination of colour and
// rhythm, and no two states differ by colour alone (WCAG 2.2 success criterion 1.4.1, "Use
// of Color"), so the one in twelve men with a red-green colour-vision deficiency can tell
// them apart by rhythm:
//
//	status          colour  rhythm                      meaning
//	fault           red     steady                      out of order: please tell a member of staff
//	help requested  white   fast blink (2 Hz)           help requested: someone is coming
//	offline         amber   double flash every 2 s      reconnecting to the clinic
//	in call, muted  amber   on, winking off every 2 s   in your appointment: your microphone is off
//	in call         blue    steady                      in your appointment
//	waiting         blue    0.3 s pulse every 2 s       waiting for the clinician to join you
//	join window     green   slow blink (1 Hz)           your appointment is ready: press Join
//	idle            white   steady, dim                 ready, nothing to do
//
// The first row that applies wins. Why these:
//   - Rhythm carries urgency: steady means "this is how things are", a slow blink asks
//     for an action, a pulse says "under way, wait", a double flash says "trouble, being
//     dealt with", a fast blink says "look here". Nothing flashes more than twice a second,
//     under the three flashes a second of WCAG 2.3.1 and Ofcom's photosensitivity guidance.
//   - Green blinking only in the join window, matching the green Join button: "press the
//     green button now" is the one action most people at the booth take.
//   - Blue for the consultation (waiting and in call): blue against amber is the pair of
//     hues people with the common deficiencies (protan, deutan) still see as different,
//     so "in the call" and "muted" or "reconnecting" are not confused.
//   - Idle is a dim steady white rather than off: a dark light looks like a broken booth.
//   - A fault is steady red, not flashing: the person at the booth cannot fix it, and an
//     alarming light would only worry them; the screen and voice say what to do.
//
// The driver sets each line through periph.io's gpio.PinOut: dimmed with PWM where the
// line supports it (gpio.PinOut.PWM succeeds), which also mixes amber and dims idle;
// switched on or off otherwise (the Linux GPIO character device, periph's gpioioctl, has
// no PWM, so amber is red plus green and idle is full white). Colours a light lacks are
// shown with the LEDs it has, so even a one-colour LED shows every rhythm. The light must
// not import the booth: cmd/boothd maps the booth's snapshots to a Status.
package light
