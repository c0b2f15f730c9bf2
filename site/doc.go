// Package site is what the devices of one site say to each other directly, on the LAN,
// with no switchboard between them: each device's listener (the port its mDNS announcement
// names) and the client that calls it.
//
// Both ends authenticate by the certificates they enrolled with: a device's certificate,
// issued by the switchboard's device CA, is its client and its server certificate, and each
// end checks the other's chain against the CA it pinned at enrolment. A device's ID is the
// one its certificate names; what its mDNS record claims is believed only once the
// certificate at that address agrees ([Verify]). Nothing is served without a certificate.
package site
