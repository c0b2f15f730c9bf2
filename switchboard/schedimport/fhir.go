package schedimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Minimal FHIR R4 structures: only what an import reads. Other elements are ignored.

type fhirIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type fhirCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type fhirCodeableConcept struct {
	Coding []fhirCoding `json:"coding"`
	Text   string       `json:"text"`
}

type fhirReference struct {
	Reference  string          `json:"reference"`
	Type       string          `json:"type"`
	Identifier *fhirIdentifier `json:"identifier"`
	Display    string          `json:"display"`
}

type fhirParticipant struct {
	Actor  *fhirReference `json:"actor"`
	Status string         `json:"status"`
}

type fhirAppointment struct {
	ResourceType    string                `json:"resourceType"`
	ID              string                `json:"id"`
	Identifier      []fhirIdentifier      `json:"identifier"`
	Status          string                `json:"status"`
	ServiceType     []fhirCodeableConcept `json:"serviceType"`
	Start           string                `json:"start"`
	End             string                `json:"end"`
	MinutesDuration int                   `json:"minutesDuration"`
	Participant     []fhirParticipant     `json:"participant"`
}

type fhirHumanName struct {
	Use    string   `json:"use"`
	Text   string   `json:"text"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
	Prefix []string `json:"prefix"`
}

// fhirResource is any resource of a Bundle: an Appointment, or an included Patient,
// Device or Location of which only the names are read.
type fhirResource struct {
	fhirAppointment
	Name       json.RawMessage `json:"name"` // Patient: HumanName[]; Location: string
	DeviceName []struct {
		Name string `json:"name"`
	} `json:"deviceName"`
}

type fhirEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

type fhirBundle struct {
	ResourceType string      `json:"resourceType"`
	Entry        []fhirEntry `json:"entry"`
}

// fhirStatus maps Appointment.status: import it, cancel it, or skip it with a reason.
var fhirStatus = map[string]struct {
	cancelled bool
	skip      string
}{
	"booked":           {},
	"arrived":          {},
	"checked-in":       {},
	"cancelled":        {cancelled: true},
	"entered-in-error": {cancelled: true},
	"proposed":         {skip: "status proposed: not booked yet"},
	"pending":          {skip: "status pending: not booked yet (waiting for participants to accept)"},
	"waitlist":         {skip: "status waitlist: not booked yet"},
	"fulfilled":        {skip: "status fulfilled: already took place"},
	"noshow":           {skip: "status noshow: already took place (Carebooth records attendance itself)"},
}

// ParseFHIR reads a FHIR R4 Bundle of Appointments (with any included Patient, Device and
// Location resources), or a single Appointment, as JSON. Resources of other types in the
// Bundle are ignored. Every Appointment is checked before any is returned.
func ParseFHIR(data []byte) (*Batch, error) {
	var bundle fhirBundle
	if err := strictDecode(data, &bundle); err != nil {
		return nil, jsonError(data, "", err)
	}
	b := &Batch{Format: "fhir"}
	var entries []fhirEntry
	var entryPath func(i int) string
	switch bundle.ResourceType {
	case "Bundle":
		entries = bundle.Entry
		entryPath = func(i int) string { return fmt.Sprintf("entry[%d].resource", i) }
	case "Appointment":
		entries = []fhirEntry{{Resource: data}}
		entryPath = func(int) string { return "" }
	case "":
		return nil, &Error{Path: "resourceType", Msg: `is missing: want "Bundle" or "Appointment" (a FHIR R4 resource in JSON)`}
	default:
		return nil, &Error{Path: "resourceType", Msg: fmt.Sprintf(`is %q: want "Bundle" or "Appointment"`, bundle.ResourceType)}
	}
	if len(entries) > 2*MaxEntries+1000 {
		return nil, &Error{Path: "entry", Msg: fmt.Sprintf("holds %d resources; import at most %d Appointments at a time", len(entries), MaxEntries)}
	}

	// Each resource is decoded once; the included ones that references may point at are
	// kept by reference and full URL.
	resources := make([]fhirResource, len(entries))
	others := map[string]*fhirResource{}
	var appts []int
	for i, e := range entries {
		p := entryPath(i)
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			return nil, &Error{Path: join(p, ""), Msg: "is missing: every Bundle entry needs a resource"}
		}
		o := &resources[i]
		if err := json.Unmarshal(e.Resource, o); err != nil {
			return nil, jsonError(e.Resource, p, err)
		}
		switch o.ResourceType {
		case "Appointment":
			appts = append(appts, i)
		case "Patient", "Device", "Location":
			others[o.ResourceType+"/"+o.ID] = o
			if e.FullURL != "" {
				others[e.FullURL] = o
			}
		case "":
			return nil, &Error{Path: join(p, "resourceType"), Msg: "is missing"}
		}
	}
	if len(appts) > MaxEntries {
		return nil, &Error{Path: "entry", Msg: fmt.Sprintf("holds %d Appointments; import at most %d at a time", len(appts), MaxEntries)}
	}

	seen := map[string]string{}
	for _, i := range appts {
		p := entryPath(i)
		e, skip, err := fhirEntryOf(&resources[i].fhirAppointment, p, others)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[e.ExternalID]; dup {
			return nil, &Error{Path: join(p, "id"), Msg: fmt.Sprintf("%s appears twice (also at %s)", e.ExternalID, prev)}
		}
		seen[e.ExternalID] = p
		if skip != "" {
			b.Skipped = append(b.Skipped, Skip{ExternalID: e.ExternalID, Where: e.Where, Reason: skip})
			continue
		}
		b.Entries = append(b.Entries, e)
	}
	return b, nil
}

// fhirEntryOf converts one Appointment. A non-empty skip means the entry is valid but not
// imported; an error refuses the file.
func fhirEntryOf(a *fhirAppointment, p string, others map[string]*fhirResource) (e Entry, skip string, err error) {
	e.Where = p
	if p == "" {
		e.Where = "Appointment"
	}
	switch {
	case a.ID != "":
		e.ExternalID = "fhir:Appointment/" + a.ID
	case len(a.Identifier) > 0 && a.Identifier[0].Value != "":
		e.ExternalID = "fhir:" + a.Identifier[0].System + "|" + a.Identifier[0].Value
	default:
		return e, "", &Error{Path: join(p, "id"), Msg: "is missing, and there is no identifier: an import needs one to match the appointment next time"}
	}
	st, ok := fhirStatus[a.Status]
	if !ok {
		if a.Status == "" {
			return e, "", &Error{Path: join(p, "status"), Msg: "is missing (it is required in FHIR R4)"}
		}
		return e, "", &Error{Path: join(p, "status"), Msg: fmt.Sprintf("%q is not an R4 Appointment status (booked, cancelled, ...)", a.Status)}
	}
	if st.skip != "" {
		return e, st.skip, nil
	}
	e.Cancelled = st.cancelled

	if a.Start == "" {
		if e.Cancelled {
			return e, "cancelled at the source, with no start", nil
		}
		return e, "", &Error{Path: join(p, "start"), Msg: "is missing: a booked appointment needs a start"}
	}
	if e.Start, err = fhirInstant(a.Start, join(p, "start")); err != nil {
		return e, "", err
	}
	switch {
	case a.End != "":
		if e.End, err = fhirInstant(a.End, join(p, "end")); err != nil {
			return e, "", err
		}
	case a.MinutesDuration > 0:
		e.End = e.Start.Add(time.Duration(a.MinutesDuration) * time.Minute)
	case a.MinutesDuration < 0:
		return e, "", &Error{Path: join(p, "minutesDuration"), Msg: "must be positive"}
	default:
		return e, "", &Error{Path: join(p, "end"), Msg: "is missing, and so is minutesDuration"}
	}
	if !e.End.After(e.Start) {
		return e, "", &Error{Path: join(p, "end"), Msg: fmt.Sprintf("%s is not after start %s", a.End, a.Start)}
	}
	if why := checkTimes(e.Start, e.End); why != "" {
		return e, why, nil
	}
	if len(a.ServiceType) > 0 {
		st := a.ServiceType[0]
		for _, c := range st.Coding {
			if c.Display != "" {
				e.Service = c.Display
				break
			}
		}
		if e.Service == "" {
			e.Service = st.Text
		}
		e.Service, _ = cleanName(e.Service)
	}

	patient := ""
	for j, pt := range a.Participant {
		if pt.Actor == nil {
			continue
		}
		pp := join(p, fmt.Sprintf("participant[%d].actor", j))
		kind := refType(pt.Actor)
		switch kind {
		case "Patient":
			if patient != "" {
				continue // the first patient is the one the booth is for
			}
			name := pt.Actor.Display
			if name == "" {
				if o := others[pt.Actor.Reference]; o != nil {
					name = patientName(o.Name)
				}
			}
			n, why := cleanName(name)
			if why != "" {
				if name == "" {
					return e, "", &Error{Path: join(pp, "display"), Msg: "is missing, and the Bundle does not include that Patient: Carebooth needs the patient's display name"}
				}
				return e, "", &Error{Path: join(pp, "display"), Msg: why}
			}
			patient = n
		case "Device", "Location":
			ref := pt.Actor
			if _, id, ok := strings.Cut(ref.Reference, "/"); ok && !strings.Contains(id, "/") {
				e.DeviceRefs = addUnique(e.DeviceRefs, id)
			}
			if ref.Identifier != nil {
				e.DeviceRefs = addUnique(e.DeviceRefs, ref.Identifier.Value)
			}
			e.DeviceRefs = addUnique(e.DeviceRefs, ref.Display)
			if o := others[ref.Reference]; o != nil {
				for _, id := range o.Identifier {
					e.DeviceRefs = addUnique(e.DeviceRefs, id.Value)
				}
				for _, dn := range o.DeviceName {
					e.DeviceRefs = addUnique(e.DeviceRefs, dn.Name)
				}
				var locName string
				if json.Unmarshal(o.Name, &locName) == nil {
					e.DeviceRefs = addUnique(e.DeviceRefs, locName)
				}
			}
		}
	}
	if patient == "" {
		if e.Cancelled {
			return e, "", nil // a cancellation needs no name
		}
		return e, "", &Error{Path: join(p, "participant"), Msg: "has no Patient actor: Carebooth needs the patient's display name"}
	}
	e.Patient = patient
	return e, "", nil
}

// refType is the resource type a reference points at.
func refType(r *fhirReference) string {
	if r.Type != "" {
		return r.Type
	}
	ref := r.Reference
	if i := strings.LastIndex(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2]
	}
	return ""
}

// patientName picks a display name from a Patient's HumanName list: the usual or official
// name's text, else its given names and family name. Nothing else of the Patient is read.
func patientName(raw json.RawMessage) string {
	var names []fhirHumanName
	if json.Unmarshal(raw, &names) != nil || len(names) == 0 {
		return ""
	}
	best := names[0]
	for _, n := range names {
		if n.Use == "usual" || (n.Use == "official" && best.Use != "usual") {
			best = n
		}
	}
	if best.Text != "" {
		return best.Text
	}
	return strings.Join(append(append([]string{}, best.Given...), best.Family), " ")
}

func fhirInstant(v, path string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, &Error{Path: path, Msg: fmt.Sprintf("%q is not a FHIR instant with a time zone, such as 2026-11-23T09:30:00+00:00", v)}
	}
	return t.UTC(), nil
}

func join(p, field string) string {
	switch {
	case p == "":
		return field
	case field == "":
		return p
	}
	return p + "." + field
}

// strictDecode decodes one JSON value and refuses trailing data.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// jsonError turns a decoding error into an *Error naming the path (type errors) or the
// line and column (syntax errors).
func jsonError(data []byte, base string, err error) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		field := strings.ReplaceAll(ute.Field, "fhirAppointment.", "")
		if field == "" {
			return &Error{Path: join(base, ""), Msg: fmt.Sprintf("must be a JSON object, not %s", ute.Value)}
		}
		return &Error{Path: join(base, field), Msg: fmt.Sprintf("must be %s, not %s", kindOf(ute.Type.Kind().String()), ute.Value)}
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return &Error{Path: join(base, ""), Msg: fmt.Sprintf("not valid JSON at line %d, column %d: %v", line, col, se)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &Error{Path: join(base, ""), Msg: "not valid JSON: the file ends in the middle of a value"}
	}
	return &Error{Path: join(base, ""), Msg: err.Error()}
}

func kindOf(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
