// Package device is the vocabulary every part of Carebooth uses for an appliance: its
// [Role] (a patient's booth or the clinic-room appliance) and its [JoinMode] (whether it
// joins its appointments by itself or when Join is pressed). The words are defined here
// once, with their validation, and the config file, the signalling protocol, the
// switchboard's store and API and the booth all use these types.
package device
