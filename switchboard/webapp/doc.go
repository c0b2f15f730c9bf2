// Package webapp provides the clinician web app: the login page, today's appointments, the
// live waiting room and the call screen, as static files embedded in the switchboard binary.
//
// There is no build step and nothing is fetched from a CDN: index.html, app.js (a plain ES
// module) and app.css are served as they are in static/. The page talks to the switchboard's
// JSON API (docs/architecture.md) and to the signalling WebSocket /api/v1/signal (package
// signalling), and places calls with the browser's RTCPeerConnection (W3C WebRTC 1.0,
// https://www.w3.org/TR/webrtc/).
//
// Every response carries a Content-Security-Policy that allows scripts, styles and
// connections from the page's own origin only (https://www.w3.org/TR/CSP3/), so the page has
// no inline script or style.
//
// For browser tests the page exposes a read-only window.carebooth object (see static/app.js):
// stats() resolves to the call's counters from RTCPeerConnection.getStats (framesDecoded,
// framesSent, audioPacketsReceived, connectionState, ...), state() returns the view, the
// signalling state, the waiting room and the call. Elements a test drives carry the same
// id and data-testid: login-form, login-username, login-password, login-submit,
// login-error, logout-button, conn-status (data-state idle|connecting|open|reconnecting),
// message and message-text, dashboard-view, waiting-list, call-view, remote-video,
// local-video, mute-button, muted-indicator, end-button. Repeated elements carry a
// data-testid and the appointment's ID: waiting-entry and admit-button with
// data-appointment-id, and appointment-row likewise.
package webapp
