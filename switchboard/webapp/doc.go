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
// For browser tests the page exposes a read-only window.carebooth object; see static/app.js.
package webapp
