// Package audit is the vocabulary of the switchboard's append-only audit log: what an
// entry records (Action, defined once here), who did it and from where. The entries live
// in the switchboard's store (store.Store AppendAudit and Audit); nothing edits or
// deletes one except the retention sweep (PruneAudit).
//
// Entries name appointments by ID, never a patient's name, so the log holds no patient
// data beyond what the appointment itself holds, and it is kept for Retention.
package audit
