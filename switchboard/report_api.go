package switchboard

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/report"
	"github.com/carebooth/carebooth/switchboard/store"
)

const (
	defaultReportRange = 30 * 24 * time.Hour
	maxReportRange     = 400 * 24 * time.Hour
)

// handleReport serves the commissioners' report (package report) as JSON, or as CSV for
// ?format=csv or Accept: text/csv. A clinician sees their own clinic; an admin every
// clinic, or one with ?clinic_id=.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, p *principal) {
	qs := r.URL.Query()
	now := s.clock.Now().UTC()
	// Whole days by default: the last 30 up to the end of today (UTC).
	to := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	from := to.Add(-defaultReportRange)
	for _, x := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := qs.Get(x.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d, derr := time.Parse(time.DateOnly, v)
			if derr != nil {
				writeFieldError(w, badField(x.name, "%q is not a date (2026-11-01) or an RFC 3339 time (2026-11-01T00:00:00Z)", v))
				return
			}
			t = d
		}
		*x.t = t.UTC()
	}
	if !to.After(from) {
		writeFieldError(w, badField("to", "must be after from"))
		return
	}
	if to.Sub(from) > maxReportRange {
		writeFieldError(w, badField("to", "the range may span at most 400 days"))
		return
	}
	format := qs.Get("format")
	switch format {
	case "json", "csv":
	case "":
		format = "json"
		if wantsCSV(r.Header.Get("Accept")) {
			format = "csv"
		}
	default:
		writeFieldError(w, badField("format", "must be json or csv, not %q", format))
		return
	}

	var clinics []string
	switch c := qs.Get("clinic_id"); {
	case c != "" && !p.seesSite(c):
		writeError(w, http.StatusForbidden, api.CodeForbidden, "clinic_id: you may see only your own clinic's report")
		return
	case c != "":
		if !s.clinicExists(w, r, "clinic_id", c, false) {
			return
		}
		clinics = []string{c}
	case p.fleetAdmin():
		all, err := s.store.Clinics()
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		for _, cl := range all {
			clinics = append(clinics, cl.ID)
		}
	case p.clinician.ClinicID != "":
		clinics = []string{p.clinician.ClinicID}
	}

	rep, err := report.Build(s.store, nil, report.Query{From: from, To: to, ClinicIDs: clinics, Now: now})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, api.CodeNotFound, "%v", err)
			return
		}
		s.internalError(w, r, err)
		return
	}
	if format == "json" {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, rep); err != nil {
		s.internalError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="carebooth-report-%s-%s.csv"`, from.Format("20060102"), to.Format("20060102")))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes()) //nolint:errcheck // the client has gone
}

// wantsCSV reports whether an Accept header prefers text/csv to JSON.
func wantsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json":
			return false
		}
	}
	return false
}
