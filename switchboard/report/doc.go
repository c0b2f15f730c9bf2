// Package report provides the evidence-of-impact report for commissioners: per clinic and
// per site (a site is a booth, named by its device name), over a date range, how many
// appointments there were, how many were attended, the did-not-attend rate, waits in the
// waiting room, call lengths, reconnections, calls moved to the telephone and call
// quality. It renders as JSON and as CSV (RFC 4180).
//
// Everything is computed from the appointment life cycle (package appointment): each
// appointment's status and history of records. Definitions, for appointments whose start
// falls in [From, To):
//
//   - appointments: booked, not cancelled. cancelled is counted apart.
//   - attended: the patient was admitted to a call at least once (an admit record; for
//     appointments older than the life-cycle history, status in_call or ended).
//   - did_not_attend: marked no_show, or still scheduled (or its join window open) when
//     it ended: nobody came. dna_rate = did_not_attend / (attended + did_not_attend),
//     null when both are 0.
//   - wait: from the patient's last arrive before their first admit to that admit.
//   - call: from the first admit to the end. Both give a median and a 90th percentile
//     (linear interpolation between ranks, as Excel's PERCENTILE.INC), in seconds, with
//     the number of samples; null without samples.
//   - reconnects: connections lost mid-visit (device_lost, clinician_lost) after which
//     the patient arrived or was admitted again.
//   - moved_to_telephone: status telephone.
//   - mean_bitrate_kbps, mean_packet_loss_pct: means over calls of what booths reported.
//     Booths do not report call quality to the switchboard yet: these are null ("not
//     reported") until a QualitySource supplies them; no figure is ever invented.
//
// Times are the actors' (Record.At): a booth's clock for events it recorded offline.
package report
