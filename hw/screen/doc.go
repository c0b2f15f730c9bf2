// Package screen draws the booth's screen: a pure renderer from a small view model (what
// the booth is doing, the clinic, the appointment time, the mute state, a fault) plus the
// latest remote and self-view video frames to an *image.RGBA of the panel's size, or to a
// [Frame] in the panel's own pixel layout (RGB565 on most framebuffers), and a display
// loop that redraws on change at most at the panel's frame rate.
//
// The booth has no browser and its users may be old, hard of hearing or partially sighted,
// reading from about 2 m away with no keyboard or mouse. So every screen carries one message
// in plain words, text sizes are fixed fractions of the panel height (body text has a cap
// height of 8% of the height: 48 px on a 600-line panel, 58 px on 720), and every text and
// background pair has a contrast ratio of at least 7:1, the WCAG 2.2 AAA level for normal
// text (success criterion 1.4.6), computed with WCAG's relative luminance
// (https://www.w3.org/TR/WCAG22/#dfn-relative-luminance). Times follow the NHS style guide
// (https://service-manual.nhs.uk/content/numbers-measurements-dates-time): "10:30am", "2pm".
//
// Data flows one way: cmd/boothd maps the booth's state into a [View]; this package never
// imports package booth. The panels live in subpackages: fbdev (the Linux framebuffer) and
// virtual (an MJPEG stream and PNG snapshot on localhost for development).
//
// Text is set in the Go fonts (golang.org/x/image/font/gofont), embedded in the binary, so
// the screen needs no system fonts.
package screen
