package switchboard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/switchboard/api"
	"github.com/carebooth/carebooth/switchboard/audit"
	"github.com/carebooth/carebooth/switchboard/schedimport"
	"github.com/carebooth/carebooth/switchboard/store"
)

const (
	// maxImportBytes bounds an import file: a year of a busy clinic's FHIR bundle is a few MiB.
	maxImportBytes = 16 << 20
	// defaultImportHorizon is how far ahead an iCalendar feed's recurring events are
	// expanded when the request gives no "to".
	defaultImportHorizon = 90 * 24 * time.Hour
	maxImportWindow      = 400 * 24 * time.Hour
)

// handleImportAppointments imports a FHIR R4 Bundle or an iCalendar feed into one clinic
// (package schedimport). The body is the file itself. The whole file is checked before
// anything is written, and the writes are one store transaction taken under the hub's
// lock (Hub.ImportAppointments), so booths' schedules are pushed once and never see half
// an import.
func (s *Server) handleImportAppointments(w http.ResponseWriter, r *http.Request, p *principal) {
	qs := r.URL.Query()
	clinic := p.clinician.ClinicID
	if c := qs.Get("clinic_id"); c != "" {
		if !p.seesSite(c) {
			writeError(w, http.StatusForbidden, api.CodeForbidden, "clinic_id: you may import only into your own clinic")
			return
		}
		clinic = c
	}
	if clinic == "" {
		writeFieldError(w, badField("clinic_id", "is required: this admin account belongs to no clinic"))
		return
	}
	if !s.clinicExists(w, r, "clinic_id", clinic, false) {
		return
	}
	dryRun := false
	if v := qs.Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeFieldError(w, badField("dry_run", "must be true or false, not %q", v))
			return
		}
		dryRun = b
	}
	now := s.clock.Now().UTC()
	from, to, fe := timeRange(qs, now, now.Add(defaultImportHorizon), maxImportWindow, "the import window")
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	from, to = from.UTC(), to.UTC()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "the import file is larger than %d MiB; split it", maxImportBytes>>20)
			return
		}
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "read the import file: %v", err)
		return
	}
	format, fe := importFormat(qs.Get("format"), r.Header.Get("Content-Type"), body)
	if fe != nil {
		writeFieldError(w, fe)
		return
	}
	var batch *schedimport.Batch
	switch format {
	case "fhir":
		batch, err = schedimport.ParseFHIR(body)
	default:
		batch, err = schedimport.ParseICal(body, schedimport.ICalOptions{From: from, To: to})
	}
	if err != nil {
		writeImportError(w, format, err)
		return
	}
	devices, err := s.store.Devices(clinic)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	opt := schedimport.Options{
		ClinicID: clinic, DefaultDevice: qs.Get("device_id"), Now: now,
		Actor: appointment.Actor{Kind: appointment.ActorClinician, ID: p.clinician.ID},
	}
	if opt.DefaultDevice != "" && !hasDevice(devices, opt.DefaultDevice) {
		writeFieldError(w, badField("device_id", "clinic %s has no device %q; list them with GET /api/v1/devices", clinic, opt.DefaultDevice))
		return
	}

	var res schedimport.Result
	if dryRun {
		existing, err := s.store.AppointmentsByExternalID(clinic, batch.ExternalIDs())
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if _, res, err = schedimport.Plan(batch, devices, existing, opt); err != nil {
			writeImportError(w, format, err)
			return
		}
		res.DryRun = true
		writeJSON(w, http.StatusOK, res)
		return
	}

	// The hub holds its lock across the plan and the write, and pushes each booth whose
	// schedule changed its new schedule once.
	written, err := s.hub.ImportAppointments(clinic, batch.ExternalIDs(), func(existing map[string]store.Appointment) ([]store.ImportWrite, error) {
		writes, r, err := schedimport.Plan(batch, devices, existing, opt)
		res = r
		return writes, err
	})
	var ie *schedimport.Error
	switch {
	case errors.As(err, &ie):
		writeImportError(w, format, err)
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	// Creations get their new IDs in the report.
	ids := make(map[string]string, len(written))
	for _, a := range written {
		ids[a.ExternalID] = a.ID
	}
	for i := range res.Changes {
		if c := &res.Changes[i]; c.AppointmentID == "" && c.Action == schedimport.Create {
			c.AppointmentID = ids[c.ExternalID]
		}
	}
	s.log.Info("appointments imported", "clinic", clinic, "format", format, "by", p.clinician.Username,
		"created", res.Created, "updated", res.Updated, "cancelled", res.Cancelled, "unchanged", res.Unchanged, "skipped", res.Skipped)
	s.audit(r, p, audit.AppointmentImport, clinic, clinic, fmt.Sprintf("%s: %d created, %d updated, %d cancelled, %d unchanged, %d skipped",
		format, res.Created, res.Updated, res.Cancelled, res.Unchanged, res.Skipped))
	writeJSON(w, http.StatusOK, res)
}

func hasDevice(ds []store.Device, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

// importFormat picks the parser: ?format=, else the Content-Type, else the first bytes.
func importFormat(param, contentType string, body []byte) (string, *fieldError) {
	switch param {
	case "fhir", "ical":
		return param, nil
	case "":
	default:
		return "", badField("format", "must be fhir or ical, not %q", param)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/fhir+json", "application/json":
		return "fhir", nil
	case "text/calendar":
		return "ical", nil
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		return "fhir", nil
	case bytes.HasPrefix(bytes.ToUpper(trimmed[:min(len(trimmed), 15)]), []byte("BEGIN:VCALENDAR")):
		return "ical", nil
	}
	return "", badField("format", "cannot tell the file's format: send Content-Type application/fhir+json or text/calendar, or ?format=fhir|ical")
}

func writeImportError(w http.ResponseWriter, format string, err error) {
	e := api.Error{Code: api.CodeBadRequest, Message: err.Error()}
	var ie *schedimport.Error
	if errors.As(err, &ie) {
		e.Line, e.Field = ie.Line, ie.Path
	}
	if format == "ical" {
		e.Message = "iCalendar file refused, nothing imported: " + e.Message
	} else {
		e.Message = "FHIR file refused, nothing imported: " + e.Message
	}
	writeJSON(w, http.StatusBadRequest, api.ErrorBody{Error: e})
}
