// Package turnrelay is the switchboard's TURN server (RFC 8656), through
// github.com/pion/turn, for sites whose firewalls block UDP between the parties of a call:
// UDP first, TCP as the last resort, on one port.
//
// Nobody holds a standing TURN password. Each party of each call is handed credentials
// that expire (the "TURN REST" scheme of draft-uberti-behave-turn-rest: the user name is
// the expiry time and the party, the password an HMAC of it under a secret only the
// switchboard knows), so a browser's or booth's credentials are useless to anyone who
// copies them after the call. The relay refuses to reach loopback, link-local,
// unspecified and multicast addresses, so it cannot be used to reach the switchboard's
// own services, and bounds how many allocations it holds.
package turnrelay
