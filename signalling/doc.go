// Package signalling provides Carebooth's versioned signalling protocol: the JSON messages
// that booths, clinician browsers and the switchboard exchange over a WebSocket, their
// validation, and a connection type that frames, numbers and size-limits them.
//
// Every message is an envelope {"v":1,"type":"offer","seq":7,"body":{...}}. The version is
// checked first, so an old booth talking to a newer switchboard gets a clear
// unsupported_version error instead of a half-understood message. seq is assigned by the
// sender, starts at 1 and must rise by at least one per message on a connection; a message
// whose seq does not rise is refused as out_of_order. Bodies are decoded strictly: an unknown
// field or a missing required field is a bad_message naming the field.
//
// The call flow (the clinician's side offers, the booth answers):
//
//	booth -> hello{role:device}          switchboard -> welcome, schedule
//	booth -> arrive{appointment_id}      switchboard -> queue (to the clinic's clinicians)
//	clinician -> admit{appointment_id}   switchboard -> call{role:offerer} to the clinician,
//	                                                    call{role:answerer} to the booth
//	clinician -> offer{call_id,sdp}      relayed to the booth
//	booth -> answer{call_id,sdp}         relayed to the clinician
//	either -> candidate{call_id,...}     relayed to the other party (trickle ICE)
//	either -> end{call_id,reason}        relayed; the call is over for both
//
// SDP and ICE follow RFC 8829 (JSEP) and RFC 8838 (trickle ICE); the transport is a
// WebSocket (RFC 6455).
package signalling
