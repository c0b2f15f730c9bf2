package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the first record of WriteCSV's output.
var CSVHeader = []string{
	"level", "clinic_id", "clinic_name", "site", "device_id", "from", "to",
	"appointments", "attended", "did_not_attend", "dna_rate", "cancelled", "moved_to_telephone", "reconnects",
	"wait_median_seconds", "wait_p90_seconds", "wait_samples",
	"call_median_seconds", "call_p90_seconds", "call_samples",
	"mean_bitrate_kbps", "mean_packet_loss_pct", "quality_samples",
}

// WriteCSV writes the report as RFC 4180 CSV (CRLF line ends, quoted where needed): a
// header, then per clinic a "clinic" row with its totals followed by a "site" row per
// booth. Figures that cannot be computed are empty cells. Names that a spreadsheet would
// take for a formula are prefixed with an apostrophe.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	from, to := r.From.Format("2006-01-02T15:04:05Z07:00"), r.To.Format("2006-01-02T15:04:05Z07:00")
	for _, c := range r.Clinics {
		if err := cw.Write(row("clinic", c.ClinicID, c.ClinicName, "", "", from, to, &c.Total)); err != nil {
			return err
		}
		for _, s := range c.Sites {
			if err := cw.Write(row("site", c.ClinicID, c.ClinicName, s.Site, s.DeviceID, from, to, &s.Metrics)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func row(level, clinicID, clinicName, site, deviceID, from, to string, m *Metrics) []string {
	return []string{
		level, clinicID, safeCell(clinicName), safeCell(site), deviceID, from, to,
		itoa(m.Appointments), itoa(m.Attended), itoa(m.DidNotAttend), num(m.DNARate, 4), itoa(m.Cancelled),
		itoa(m.MovedToTelephone), itoa(m.Reconnects),
		num(m.WaitMedianSeconds, 1), num(m.WaitP90Seconds, 1), itoa(m.WaitSamples),
		num(m.CallMedianSeconds, 1), num(m.CallP90Seconds, 1), itoa(m.CallSamples),
		num(m.MeanBitrateKbps, 1), num(m.MeanPacketLossPct, 2), itoa(m.QualitySamples),
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func num(f *float64, prec int) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', prec, 64)
}

// safeCell defuses CSV formula injection (a name starting =, +, -, @, tab or CR).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
