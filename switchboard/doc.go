// Package switchboard provides the Carebooth coordination server: the JSON API for clinics,
// clinicians, devices and appointments (docs/architecture.md, openapi.yaml), its
// authentication (clinician sessions, device tokens, a metrics token), the signalling hub
// that runs waiting rooms and relays call set-up between a clinician's browser and a booth
// (package signalling; RFC 6455 WebSocket, RFC 8829 JSEP, RFC 8838 trickle ICE), and its
// Prometheus metrics.
//
// The server holds no state of its own beyond live connections: everything that must
// survive a restart is in the injected store.Store.
package switchboard
