package api

import "time"

// ImportAction is what an import does with one entry of a schedule file.
type ImportAction string

// Import actions.
const (
	ImportCreate    ImportAction = "create"
	ImportUpdate    ImportAction = "update"
	ImportCancel    ImportAction = "cancel"
	ImportUnchanged ImportAction = "unchanged"
	ImportSkip      ImportAction = "skip"
)

// ImportChange is one line of an import's report.
type ImportChange struct {
	Action        ImportAction `json:"action"`
	ExternalID    string       `json:"external_id,omitempty"`
	Where         string       `json:"where"`                    // the entry's line or JSON path in the file
	AppointmentID string       `json:"appointment_id,omitempty"` // empty for a dry run's creations
	Patient       string       `json:"patient,omitempty"`
	DeviceID      string       `json:"device_id,omitempty"`
	Start         time.Time    `json:"start,omitzero"`
	End           time.Time    `json:"end,omitzero"`
	Changed       []string     `json:"changed,omitempty"` // fields an update changes
	Reason        string       `json:"reason,omitempty"`
}

// ImportResult answers POST /api/v1/appointments/import: what the import did, or for a
// dry run what it would do.
type ImportResult struct {
	Format        string         `json:"format"`
	DryRun        bool           `json:"dry_run"`
	Created       int            `json:"created"`
	Updated       int            `json:"updated"`
	Cancelled     int            `json:"cancelled"`
	Unchanged     int            `json:"unchanged"`
	Skipped       int            `json:"skipped"`
	OutsideWindow int            `json:"outside_window"`
	Changes       []ImportChange `json:"changes"`
}
