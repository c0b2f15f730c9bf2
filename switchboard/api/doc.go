// Package api is the switchboard HTTP API's wire shapes: every request and response body,
// defined once and shared by the server (package switchboard) and its Go client
// (switchboard/apiclient), so the two cannot drift. The API itself is described in
// switchboard/openapi.yaml; openapi_test checks the server against it.
//
// It holds types only, with the vocabulary they carry (appointment.Status and Record,
// device.Role and JoinMode), and imports nothing of the server: a client that links it
// links no store, no bbolt and no hub. The server validates requests in its own
// handlers, because what is valid depends on its state.
package api
