// Package enrol is how a device that has never been approved joins a switchboard: the
// activation code a person reads off its screen, and the requests the device signs with
// its identity key before it holds a certificate.
//
// The flow: the device posts a Request (its public key, name and version), signed with
// its key, and the switchboard answers with a Pending: a fresh activation code that
// expires after CodeLifetime, and the switchboard CA's fingerprint. The device shows the
// code (large text, spoken when prompts are on) and polls, signing each poll. IT approves
// the code in the admin page or with `boothctl devices approve CODE --site S --room R
// --role R`; the next poll receives an Approved: the device ID, its certificate chain and
// its site, room and role. From then on the device authenticates with mutual TLS.
//
// Codes are 8 characters of Crockford's base32 (40 bits), shown as two groups of four
// ("K7QM-4TZP"); ParseCode reads what a person types, in any case, with or without the
// dash, reading I and L as 1 and O as 0. A code is single-use, and guessing one is
// rate-limited by the switchboard per source and in total.
//
// Signed requests carry "Authorization: Carebooth-Ed25519 key=K, ts=T, sig=S": K is the
// base64 public key, T the Unix time, and S the signature over the method, the path, T
// and the SHA-256 of the body (see SigningString). A signature more than MaxSkew from
// the switchboard's clock is refused.
package enrol
