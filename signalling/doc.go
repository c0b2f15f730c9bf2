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
//	booth -> restart{call_id,reason}     relayed to the clinician, who sends a new offer
//	                                     with an ICE restart (RFC 8445 section 9); one at a
//	                                     time, only from the call's answerer
//	either -> end{call_id,reason}        relayed; the call is over for both
//	booth -> quality{appointment_id,...} how the call went (bitrate, loss, RTT), kept for reports
//	booth -> help{requested}             passed to the clinic's clinicians, then echoed to the
//	                                     booth as proof someone was told (refused if nobody is)
//
// The staff station (docs/staff-station.md):
//
//	clinician -> hello{staff:true}       switchboard -> welcome, queue, devices{clinic_id,
//	                                     devices}: the site's devices and their state
//	                                     (BoothState, with offline), again on each change
//	(HTTP acknowledge)                   switchboard -> help{requested,acknowledged_by} to
//	                                     the booth and the clinic's clinicians
//
// Appointments (package appointment's life cycle):
//
//	booth -> event{key,appointment_id,   switchboard applies it once per key and answers
//	        event,at}                    event_ack{key,status}; a booth sends its durable
//	                                     outbox in order, replaying it after the link was down
//	switchboard -> settings{seq,...}     queued durably until the device answers
//	device -> settings_ack{seq}          settings_ack; resent on every reconnect until then
//	clinician -> outcome{appointment_id, a no-show or a move to the telephone
//	             outcome}
//
// A device whose role is "clinic" (the clinic-room appliance) gets queue pushes like a
// clinician, may admit (it is then the offerer) and may send outcome.
//
// SDP and ICE follow RFC 8829 (JSEP) and RFC 8838 (trickle ICE); the transport is a
// WebSocket (RFC 6455).
package signalling
