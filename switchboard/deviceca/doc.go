// Package deviceca is the switchboard's own certificate authority: the key and
// self-signed certificate it creates in its state directory on first start, with which it
// issues each enrolled device a client certificate for its ed25519 key, and its own
// serving certificate for a site LAN.
//
// A device pins the CA's fingerprint when it enrols (the admin who approves it sees the
// same fingerprint), so the switchboard's serving certificate can be renewed without
// touching a single booth. Device certificates carry the device ID as their common name
// and as a URI SAN (carebooth:device:ID); revocation is the switchboard's device record,
// checked on every connection, not a CRL: a certificate is a key binding, never on its
// own a licence to connect.
//
// Files: ca.key (PEM PKCS #8 ed25519, mode 0600) and ca.crt (PEM), both written
// atomically. A CA key that others can read, or that does not match ca.crt, is refused
// with an error naming the file.
package deviceca
