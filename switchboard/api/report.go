package api

import "time"

// Report answers GET /api/v1/reports: a clinic's figures over a period, computed by
// package switchboard/report.
type Report struct {
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	GeneratedAt time.Time      `json:"generated_at"`
	Clinics     []ReportClinic `json:"clinics"`
	Notes       []string       `json:"notes"`
}

// ReportClinic is one clinic's figures, in total and per site.
type ReportClinic struct {
	ClinicID   string        `json:"clinic_id"`
	ClinicName string        `json:"clinic_name"`
	Total      ReportMetrics `json:"total"`
	Sites      []ReportSite  `json:"sites"`
}

// ReportSite is one booth's figures.
type ReportSite struct {
	DeviceID string        `json:"device_id"`
	Site     string        `json:"site"`
	Metrics  ReportMetrics `json:"metrics"`
}

// ReportMetrics are the figures of one clinic or site. Pointers are null when there is
// nothing to compute them from.
type ReportMetrics struct {
	Appointments      int      `json:"appointments"`
	Attended          int      `json:"attended"`
	DidNotAttend      int      `json:"did_not_attend"`
	DNARate           *float64 `json:"dna_rate"`
	Cancelled         int      `json:"cancelled"`
	MovedToTelephone  int      `json:"moved_to_telephone"`
	Reconnects        int      `json:"reconnects"`
	WaitMedianSeconds *float64 `json:"wait_median_seconds"`
	WaitP90Seconds    *float64 `json:"wait_p90_seconds"`
	WaitSamples       int      `json:"wait_samples"`
	CallMedianSeconds *float64 `json:"call_median_seconds"`
	CallP90Seconds    *float64 `json:"call_p90_seconds"`
	CallSamples       int      `json:"call_samples"`
	MeanBitrateKbps   *float64 `json:"mean_bitrate_kbps"`
	MeanPacketLossPct *float64 `json:"mean_packet_loss_pct"`
	QualitySamples    int      `json:"quality_samples"`
}
