// Package discoverytest runs tests of mDNS discovery where multicast can do no harm: inside
// a network namespace of their own, made for the test and removed after it. It needs root
// and iproute2 (CI runs as root); elsewhere the tests skip, saying which is missing, and
// under CI=true they fail instead, so a CI machine that cannot run them is noticed.
package discoverytest
