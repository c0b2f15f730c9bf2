// Package appointment provides the life cycle of a Carebooth appointment: its statuses,
// the events that move it from one to the next, who may cause each, and the record kept of
// every transition. The switchboard and boothd both use it, so the two can never disagree
// about what is allowed.
//
//	scheduled --window_open--> window_open --arrive--> waiting --admit--> in_call --end--> ended
//	                             ^                        |  ^                |
//	                             +---------leave----------+  +-clinician_lost-+
//	                                                            +-call_failed---+
//	waiting, in_call --device_lost--> scheduled   (the booth's connection went: it rejoins)
//	scheduled --leave--> window_open              (End pressed while that booth was offline)
//	scheduled, window_open --no_show--> no_show
//	scheduled, window_open, waiting, in_call --telephone--> telephone
//	scheduled, window_open, waiting --cancel--> cancelled
//
// ended, no_show, telephone and cancelled are final. An event that the table does not
// allow from the current status, or that the actor may not cause, is refused with an
// *IllegalError (errors.Is(err, ErrIllegal)) and changes nothing.
//
// Actors: a device (a booth, or a clinic-room appliance admitting and ending calls), a
// clinician (the web app), or the system (the switchboard noticing a lost connection or
// the clock opening a window). Every transition is kept as a Record with the time, the
// actor and, for events a booth recorded, the booth's idempotency key, so a replayed
// event is applied exactly once.
package appointment
