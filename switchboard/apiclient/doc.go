// Package apiclient provides a Go client for the switchboard's JSON API (v1), as
// documented in switchboard/openapi.yaml. boothctl is built on it.
package apiclient
