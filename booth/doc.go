// Package booth provides the core of boothd: the booth's local copy of its schedule, the
// state machine that decides when to join a consultation, the signalling link to the
// switchboard, and the call's life cycle.
//
// States (see State): Idle; JoinWindow while an appointment's window is open
// (start - join_window <= now < end); Waiting once the booth has sent arrive; InCall from the
// switchboard's call{role:answerer} until either side ends it. Snapshot.Offline is set
// while the link is down; a booth can be in its window, or waiting, while offline, and
// resends arrive when the link returns.
//
// Joining: in "auto" mode the booth arrives at the appointment's start time (by the
// injected clock, never before); in "button" mode when Join is pressed during the window.
// Join pressed during the window arrives in either mode; pressed outside any window it is
// ignored and counted (Snapshot.Ignored). End in a call sends end{hangup}; End while
// waiting sends leave. After a call ends (hangup, the other side's end, media failure)
// the appointment is done and is not joined again; if the clinician's connection was lost
// (end{peer_lost}) or the booth's own link dropped, the booth waits again instead.
//
// Appointment events (package appointment's life cycle): the booth records window_open,
// arrive and leave in a durable outbox (Store.Record: one bbolt transaction appends the
// event under a NextSequence key and moves the appointment's Local status), sends each
// when the link is up, replays the outbox in order (at most 32 unacknowledged) when it
// returns, and forgets an event once the switchboard acknowledges it. Offline the booth
// keeps working from its cached schedule: windows open, Join and End work, and nothing is
// lost across power cuts. What End decides outside a call (the patient left the waiting
// room, or held End to cancel the automatic join) is kept with the appointment
// (Appointment.EndPress, written by Store.Decide in the transaction of the leave it
// records) before the screen shows it, so a restart never puts the booth back in a waiting
// room the patient left; Join undoes it. Snapshot.NextWindowAt and TooEarly tell a patient who pressed
// Join too early when the window opens; settings the switchboard pushes (the join mode)
// are stored and acknowledged.
//
// Role [device.RoleClinic] is the clinic-room appliance: it keeps no schedule, shows its
// clinic's waiting room (Snapshot.Queue), admits the patient who has waited longest on Join
// (Next) and offers; End ends the call.
//
// The call itself is behind Caller and ActiveCall, declared here so booth does not depend
// on media/call's exact API; cmd/boothd adapts media to them and tests use a fake.
//
// The protocol is the one in package signalling (JSEP, RFC 8829; trickle ICE, RFC 8838,
// over a WebSocket, RFC 6455). The booth holds back its own candidates until its answer has
// been sent, because the offerer cannot add them before it has the answer.
package booth
