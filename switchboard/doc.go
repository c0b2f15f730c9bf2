// Package switchboard provides the Carebooth coordination server's HTTP side: the JSON API
// for clinics, clinicians, devices and appointments (docs/architecture.md, openapi.yaml),
// its authentication (clinician sessions, device tokens, a metrics token), the schedule
// import, the signalling WebSocket's upgrade and per-credential socket limits, and the
// HTTP metrics. The signalling hub itself (waiting rooms, call set-up, device pacing) is
// package switchboard/hub: the server builds it, hands it authenticated connections, and
// reaches it only through its exported methods.
//
// The server holds no state of its own beyond live connections: everything that must
// survive a restart is in the injected store.Store.
package switchboard
