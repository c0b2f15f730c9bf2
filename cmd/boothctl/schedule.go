package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carebooth/carebooth/switchboard/apiclient"
	"github.com/spf13/cobra"
)

// importCommand is `appointments import [flags] FILE`.
func (cmd *command) importCommand() *cobra.Command {
	c := &cobra.Command{Use: "import FILE", Short: "Import a FHIR R4 Bundle (.json) or an iCalendar feed (.ics); - reads stdin",
		Args: args(1, "the schedule FILE (- for stdin)")}
	in := apiclient.ImportRequest{}
	f := c.Flags()
	f.StringVar(&in.ClinicID, "clinic", "", "clinic ID (default your own)")
	f.StringVar(&in.DeviceID, "device", "", "device ID for entries that name no booth of the clinic (a room calendar)")
	f.StringVar(&in.Format, "format", "", "fhir or ical (default: from the file name, else the switchboard tells)")
	f.BoolVar(&in.DryRun, "dry-run", false, "show what would change and change nothing")
	fromS := f.String("from", "", "iCalendar: import instances starting at or after this date or RFC 3339 time (default now)")
	toS := f.String("to", "", "iCalendar: ... and before this (default in 90 days)")
	quiet := f.BoolP("quiet", "q", false, "print the summary only, not every entry")
	c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"fhir", "ical"}, cobra.ShellCompDirectiveNoFileComp))
	c.RunE = cmd.online(func(a []string) error {
		name := a[0]
		var err error
		if in.From, err = parseDateFlag("--from", *fromS); err != nil {
			return err
		}
		if in.To, err = parseDateFlag("--to", *toS); err != nil {
			return err
		}
		if name == "-" {
			in.Data, err = io.ReadAll(io.LimitReader(cmd.e.stdin, 64<<20))
		} else {
			in.Data, err = os.ReadFile(name)
		}
		if err != nil {
			return fmt.Errorf("read the schedule: %w", err)
		}
		if in.Format == "" {
			switch strings.ToLower(filepath.Ext(name)) {
			case ".ics", ".ical", ".ifb":
				in.Format = "ical"
			case ".json":
				in.Format = "fhir"
			}
		}
		if in.Format != "" && in.Format != "fhir" && in.Format != "ical" {
			return fmt.Errorf("--format %q: want fhir or ical", in.Format)
		}
		res, err := cmd.c.ImportAppointments(cmd.ctx, in)
		if err != nil {
			var ae *apiclient.Error
			if errors.As(err, &ae) && ae.Status == 400 && (ae.Line > 0 || strings.Contains(ae.Message, "refused, nothing imported")) {
				// The message names the line or JSON path; say which file.
				return fmt.Errorf("%s: %s", name, ae.Message)
			}
			return err
		}
		if cmd.p.JSON {
			return cmd.p.Record(res, "")
		}
		verb := "imported"
		if res.DryRun {
			verb = "dry run, nothing changed; an import would make"
		}
		summary := fmt.Sprintf("%s (%s): %s %d new, %d updated, %d cancelled, %d unchanged, %d skipped",
			name, res.Format, verb, res.Created, res.Updated, res.Cancelled, res.Unchanged, res.Skipped)
		if res.OutsideWindow > 0 {
			summary += fmt.Sprintf(", %d outside the window", res.OutsideWindow)
		}
		cmd.p.Record(res, "%s", summary)
		if *quiet || len(res.Changes) == 0 {
			return nil
		}
		rows := make([][]string, 0, len(res.Changes))
		for _, ch := range res.Changes {
			start := ""
			if !ch.Start.IsZero() {
				start = ch.Start.Local().Format("2006-01-02 15:04")
			}
			note := ch.Reason
			if len(ch.Changed) > 0 {
				note = "changed: " + strings.Join(ch.Changed, ", ")
			}
			rows = append(rows, []string{string(ch.Action), ch.Where, start, ch.Patient, ch.DeviceID, ch.AppointmentID, note})
		}
		return cmd.p.List(res, []string{"ACTION", "WHERE", "START", "PATIENT", "DEVICE", "APPOINTMENT", "NOTE"}, rows)
	})
	return c
}

// parseDateFlag reads a date (2026-11-01, midnight UTC) or an RFC 3339 time; "" is zero.
func parseDateFlag(flagName, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want a date such as 2026-11-01 or an RFC 3339 time such as 2026-11-01T09:00:00Z", flagName, v)
}

// reportCommand is `report [flags]`.
func (cmd *command) reportCommand() *cobra.Command {
	c := &cobra.Command{Use: "report", Short: "Appointments, attendance, waits and calls per clinic and site", Args: cobra.NoArgs}
	fromS := c.Flags().String("from", "", "first day, e.g. 2026-10-01 (default 30 days before --to)")
	toS := c.Flags().String("to", "", "the day after the last, e.g. 2026-11-01 (default tomorrow, UTC)")
	clinic := c.Flags().String("clinic", "", "clinic ID (admins; default every clinic you may see)")
	asCSV := c.Flags().Bool("csv", false, "write CSV (RFC 4180) instead of a table")
	out := c.Flags().StringP("output", "o", "", "write to this file instead of stdout")
	c.PreRunE = func(*cobra.Command, []string) error {
		if *asCSV && cmd.asJSON {
			return &usageError{errors.New("report: --csv and --json: choose one")}
		}
		return nil
	}
	c.RunE = cmd.online(func([]string) error {
		var q apiclient.ReportQuery
		var err error
		if q.From, err = parseDateFlag("--from", *fromS); err != nil {
			return err
		}
		if q.To, err = parseDateFlag("--to", *toS); err != nil {
			return err
		}
		q.ClinicID = *clinic
		w := cmd.e.stdout
		var f *os.File
		if *out != "" {
			if f, err = os.Create(*out); err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		switch {
		case *asCSV:
			raw, err := cmd.c.ReportCSV(cmd.ctx, q)
			if err != nil {
				return err
			}
			if _, err := w.Write(raw); err != nil {
				return err
			}
		default:
			rep, err := cmd.c.Report(cmd.ctx, q)
			if err != nil {
				return err
			}
			if cmd.p.JSON {
				p := cmd.p
				p.Out = w
				err = p.Record(rep, "")
			} else {
				err = writeReportTable(w, &rep)
			}
			if err != nil {
				return err
			}
		}
		if f != nil {
			if err := f.Close(); err != nil {
				return err
			}
			if !cmd.p.JSON {
				fmt.Fprintf(cmd.e.stdout, "report written to %s\n", *out)
			}
		}
		return nil
	})
	return c
}

func writeReportTable(out io.Writer, rep *apiclient.Report) error {
	fmt.Fprintf(out, "Carebooth report, %s to %s (appointments starting in that range)\n\n",
		rep.From.UTC().Format(time.DateOnly), rep.To.UTC().Add(-time.Second).Format(time.DateOnly))
	w := tabwriterFor(out)
	fmt.Fprintln(w, "CLINIC\tSITE\tBOOKED\tATTENDED\tDNA\tDNA RATE\tCANCELLED\tPHONE\tRECONNECTS\tWAIT MEDIAN\tWAIT P90\tCALL MEDIAN\tCALL P90\tKBIT/S\tLOSS")
	line := func(clinic, site string, m *apiclient.ReportMetrics) {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", clinic, site,
			m.Appointments, m.Attended, m.DidNotAttend, pct(m.DNARate), m.Cancelled, m.MovedToTelephone, m.Reconnects,
			dur(m.WaitMedianSeconds), dur(m.WaitP90Seconds), dur(m.CallMedianSeconds), dur(m.CallP90Seconds),
			fixed(m.MeanBitrateKbps, 0), pctPlain(m.MeanPacketLossPct))
	}
	for _, c := range rep.Clinics {
		line(c.ClinicName, "(all sites)", &c.Total)
		for _, s := range c.Sites {
			line("", s.Site, &s.Metrics)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(out, "note:", n)
	}
	return nil
}

// "-" is what the table shows for a figure that cannot be computed.
func pct(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f*100, 'f', 1, 64) + "%"
}

func pctPlain(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', 2, 64) + "%"
}

func fixed(f *float64, prec int) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', prec, 64)
}

func dur(sec *float64) string {
	if sec == nil {
		return "-"
	}
	return (time.Duration(*sec * float64(time.Second))).Round(time.Second).String()
}

func tabwriterFor(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }
