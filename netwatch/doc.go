// Package netwatch tells when the host's network changes: an address added or removed, a
// link going up or down, a route changing (a Wi-Fi roam, a new DHCP lease, a cable pulled).
// A call in progress restarts ICE at once instead of waiting for its checks to time out,
// which is most of the difference between two seconds of frozen picture and twenty.
//
// On Linux it listens to rtnetlink's multicast groups (netlink(7), rtnetlink(7)); elsewhere
// Watch says it is not supported. Bursts (a DHCP renewal changes an address and a route
// within milliseconds) are folded into one notice.
package netwatch
