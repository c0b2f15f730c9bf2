// Package schedimport provides schedule import into the switchboard from the systems
// hospitals and clinics book appointments in: FHIR R4 Appointment resources (a Bundle as a
// PAS or EPR FHIR API returns it, or one Appointment) and iCalendar feeds (RFC 5545), such
// as a room calendar exported from Outlook or Google.
//
// Parsing (ParseFHIR, ParseICal) turns a file into Entries, checking all of it first: a
// malformed file is refused whole with an *Error naming the line (iCalendar) or JSON path
// (FHIR) of the first problem. Plan then decides, against the devices of the clinic and
// the appointments an earlier import made (matched by external ID), what to create,
// update, cancel or leave alone; the switchboard runs it inside the store's import
// transaction (store.Store.ImportAppointments), so an import is applied whole or not at
// all, and a dry run shows the same plan without writing it.
//
// What is kept: the patient's display name only (never an NHS number, address, birth date
// or e-mail), the times, the device, the service type and the source's identifier.
//
// # FHIR R4 (https://hl7.org/fhir/R4/appointment.html)
//
//   - External ID: "fhir:Appointment/" + Appointment.id; without an id, the first
//     identifier as "fhir:" + system + "|" + value.
//   - Patient: the participant whose actor references a Patient (reference "Patient/…",
//     or type "Patient"): its display, else the name of that Patient when the Bundle
//     includes it (name.text, else given names and family name).
//   - Device: participants whose actor is a Device or a Location (by reference or type):
//     tried in order are the referenced id, its identifiers' values, its display, and the
//     included Device's deviceName or Location's name. Each is matched against the
//     clinic's Carebooth device IDs, then device names (case-insensitively). The
//     identifier system DeviceIdentifierSystem is the recommended way to name a booth.
//   - start and end (instants with a time zone); end may come from minutesDuration.
//   - status: booked, arrived, checked-in are imported; cancelled and entered-in-error
//     cancel an appointment imported earlier; proposed, pending, waitlist, fulfilled and
//     noshow are skipped with the reason (the switchboard records attendance itself).
//   - serviceType: the first coding's display, else its text.
//
// # iCalendar (RFC 5545)
//
//   - External ID: "ical:" + UID for a single event, "ical:" + UID + "/" + the instance's
//     original start in UTC (20261123T093000Z) for an instance of a recurring one.
//   - DTSTART and DTEND (or DURATION) in UTC, with TZID (an IANA name such as
//     Europe/London, a Windows name such as "GMT Standard Time", or a VTIMEZONE in the
//     file), or floating (read in X-WR-TIMEZONE, else the default zone). All-day events
//     (VALUE=DATE) are skipped with a reason.
//   - RRULE, RDATE and EXDATE are expanded over the import window (only instances that
//     start inside it are imported); RECURRENCE-ID overrides replace their instance;
//     STATUS:CANCELLED (or METHOD:CANCEL) cancels.
//   - Patient: the CN of the first ATTENDEE that is a person (CUTYPE INDIVIDUAL or none)
//     and not the chair or organizer; else the SUMMARY.
//   - Device: X-CAREBOOTH-DEVICE, then ATTENDEEs with CUTYPE ROOM or RESOURCE (CN, then
//     the mailbox name), then LOCATION, matched like FHIR's; when none matches, the
//     import's default device (a room calendar belongs to one booth).
//
// Valid entries that Carebooth cannot use (all-day, longer than 24 h, no end, no patient
// name) are skipped with a reason rather than refusing the file.
package schedimport
