// Package virtual is a screen and a set of buttons for development: the frames boothd draws
// are served on localhost as an MJPEG stream (multipart/x-mixed-replace with image/jpeg
// parts, which every browser shows in an <img>), a PNG snapshot (GET /screen.png) and a
// small page showing the stream with the booth's six buttons; POST /buttons/<name> presses
// a button (?kind=long holds it), delivered through [Screen.Buttons], a button.Source.
// With [Screen.ShowLight], the page also draws the simulated status light beside the
// screen, following GET /light (lit or not at this moment, its colour, rhythm and meaning).
//
// It listens on loopback addresses only and answers only requests that come from loopback
// with a loopback Host header (so a web page cannot reach it by DNS rebinding), and refuses
// cross-site button presses (Origin or Sec-Fetch-Site), because in a call the screen shows
// the clinician and the patient.
package virtual
