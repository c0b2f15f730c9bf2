// Package discovery finds Carebooth devices and switchboards on the site's LAN by
// multicast DNS service discovery (RFC 6762, RFC 6763), through
// github.com/grandcat/zeroconf.
//
// Devices advertise [DeviceService] and switchboards [SwitchboardService]; each service's
// TXT record is a [Record] (RFC 6763 §6: key=value strings, "txtvers" first). A record is a
// claim anyone on the LAN can make: it says where to connect and what to expect there,
// never who is there. Whoever acts on it authenticates the peer with its enrolment
// credentials (the device CA the switchboard's record names must be the pinned one; a
// device's ID is the one in its certificate, not its TXT record).
//
// [Browser] browses in rounds, one resolver a round, and drains every result channel (the
// library blocks, and leaks its goroutines, on a channel nobody reads). The library gives
// no removal events, so the [Table] of peers expires what a round did not refresh:
// a peer that stops answering is gone within [Expiry]. The table is bounded, records are
// bounded, and anything malformed is dropped and counted, so a flood of announcements or
// hostile records costs a fixed amount of memory.
//
// [Advertiser] announces one service on the chosen interfaces (IPv4 and IPv6 where
// present), re-announces when its record changes, and withdraws it (a goodbye, TTL 0)
// on Close.
package discovery
