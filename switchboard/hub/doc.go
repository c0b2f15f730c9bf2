// Package hub provides the switchboard's signalling hub: it runs each clinic's waiting
// room and relays call set-up between a clinician's browser (or a clinic-room appliance)
// and a booth over signalling connections (package signalling; RFC 6455 WebSocket, RFC 8829
// JSEP, RFC 8838 trickle ICE), applies booths' outbox events at most once, pushes
// schedules and settings to devices, and paces what one device may send (DeviceLimits).
// It also keeps the staff station's live view of each site's devices (staff.go,
// docs/staff-station.md) and pushes it to the clinician connections that ask for it.
//
// The hub is built from its explicit dependencies (a store.Store, a clock, its Metrics and
// a logger) and knows nothing of HTTP routing or authentication: package switchboard
// authenticates a request and hands Serve an Identity. Everything the HTTP API changes
// that a connection must hear of (a cancel, an outcome, an import, new settings) goes
// through the hub's exported methods, which take its lock; nothing outside the package
// does. Every durable fact is in the store: the hub holds only live connections.
package hub
