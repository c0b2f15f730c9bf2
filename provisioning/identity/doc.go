// Package identity is a device's own key: the ed25519 key pair boothd creates in its
// state directory on first start, and the client certificate the switchboard's device CA
// issues for it at enrolment.
//
// The private key never leaves the device. It is written once, atomically and with mode
// 0600 (a power cut leaves either no key or the whole key), and a key file that others can
// read, or that does not parse, is refused with an error naming the file rather than
// replaced: a new key is a new device, which IT must approve again. The certificate binds
// the key to the device's ID, site and room; [Identity.SaveCertificate] refuses one issued
// for another key.
//
// Files (in the state directory): identity.key holds the key as PEM "PRIVATE KEY"
// (PKCS #8, RFC 8410); identity.crt holds the issued certificate chain as PEM
// "CERTIFICATE" blocks, leaf first.
package identity
