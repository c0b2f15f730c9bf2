package schedimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
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
	index  int            // in Appointment.participant, kept by compactAppointment
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

// Bounds of a FHIR import, checked as the Bundle is read: no Bundle, however written, makes
// the parser hold more than about its own size.
const (
	// maxBundleResources bounds a Bundle's entries: the Appointments and what they include.
	maxBundleResources = 2*MaxEntries + 1000
	// maxResourceBytes bounds one resource; an Appointment or Patient is a few KB.
	maxResourceBytes = 1 << 20
	// maxDeviceParticipants bounds the Device and Location participants of an Appointment
	// that are tried as its booth.
	maxDeviceParticipants = 64
)

// fhirIncluded is what is kept of an included Patient, Device or Location: the names a
// participant's reference may need.
type fhirIncluded struct {
	patient string   // a Patient's display name
	refs    []string // identifier values, device names, a Location's name
}

// fhirAppt is an Appointment as kept until the Bundle's end: only what fhirEntryOf reads.
type fhirAppt struct {
	path string
	a    fhirAppointment
}

// fhirReader reads a Bundle's entries, one at a time, in place.
type fhirReader struct {
	appts  []fhirAppt
	others map[string]*fhirIncluded
	err    error
	res    fhirResource // decoded into, reused
}

// ParseFHIR reads a FHIR R4 Bundle of Appointments (with any included Patient, Device and
// Location resources), or a single Appointment, as JSON. Resources of other types in the
// Bundle are ignored. Every Appointment is checked before any is returned. A Bundle of
// more than MaxEntries Appointments or maxBundleResources resources, or with a resource
// over maxResourceBytes, is refused when that entry is reached.
func ParseFHIR(data []byte) (*Batch, error) {
	if !json.Valid(data) {
		return nil, jsonError(data, "", strictDecode(data, &struct{}{}))
	}
	doc := data[skipSpace(data, 0):]
	if doc[0] != '{' {
		return nil, &Error{Path: "", Msg: fmt.Sprintf("must be a JSON object, not %s", jsonKind(doc))}
	}
	var resourceType string
	var entry []byte
	var err error
	eachMember(doc, func(key, val []byte) bool {
		switch {
		case isKey(key, "resourceType"):
			if jsonKind(val) != "null" {
				resourceType = ""
				if e := json.Unmarshal(val, &resourceType); e != nil {
					err = &Error{Path: "resourceType", Msg: fmt.Sprintf("must be a string, not %s", jsonKind(val))}
					return false
				}
			}
		case isKey(key, "entry"):
			entry = val
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	r := &fhirReader{others: map[string]*fhirIncluded{}}
	switch resourceType {
	case "Bundle":
		switch jsonKind(entry) {
		case "array":
			eachElement(entry, r.entry)
		case "nothing", "null":
		default:
			return nil, &Error{Path: "entry", Msg: fmt.Sprintf("must be an array, not %s", jsonKind(entry))}
		}
	case "Appointment":
		if len(doc) > maxResourceBytes {
			return nil, &Error{Msg: fmt.Sprintf("the Appointment is %d bytes of JSON; Carebooth reads resources of at most %d (a few KB is usual)", len(doc), maxResourceBytes)}
		}
		r.resource(func() string { return "" }, "", doc)
	case "":
		return nil, &Error{Path: "resourceType", Msg: `is missing: want "Bundle" or "Appointment" (a FHIR R4 resource in JSON)`}
	default:
		return nil, &Error{Path: "resourceType", Msg: fmt.Sprintf(`is %q: want "Bundle" or "Appointment"`, resourceType)}
	}
	if r.err != nil {
		return nil, r.err
	}

	b := &Batch{Format: "fhir"}
	seen := map[string]string{}
	for i := range r.appts {
		p := r.appts[i].path
		e, skip, err := fhirEntryOf(&r.appts[i].a, p, r.others)
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

// entry reads the Bundle's entry i; false stops at the first problem.
func (r *fhirReader) entry(i int, elem []byte) bool {
	p := func(field string) string { return join(fmt.Sprintf("entry[%d]", i), field) } // for messages only
	if i >= maxBundleResources {
		r.err = &Error{Path: "entry", Msg: fmt.Sprintf("holds more than %d resources; import at most %d Appointments at a time (split the Bundle, by date for example)", maxBundleResources, MaxEntries)}
		return false
	}
	var fullURL string
	var res []byte
	switch jsonKind(elem) {
	case "object":
		eachMember(elem, func(key, val []byte) bool {
			switch {
			case isKey(key, "resource"):
				res = val
			case isKey(key, "fullUrl") && jsonKind(val) != "null":
				if json.Unmarshal(val, &fullURL) != nil {
					r.err = &Error{Path: p("fullUrl"), Msg: fmt.Sprintf("must be a string, not %s", jsonKind(val))}
					return false
				}
			}
			return true
		})
	case "null":
	default:
		r.err = &Error{Path: p(""), Msg: fmt.Sprintf("must be a JSON object, not %s", jsonKind(elem))}
	}
	if r.err != nil {
		return false
	}
	if len(res) == 0 || jsonKind(res) == "null" {
		r.err = &Error{Path: p("resource"), Msg: "is missing: every Bundle entry needs a resource"}
		return false
	}
	if len(res) > maxResourceBytes {
		r.err = &Error{Path: p("resource"), Msg: fmt.Sprintf("is %d bytes of JSON; Carebooth reads resources of at most %d (a few KB is usual): export the Bundle without attachments", len(res), maxResourceBytes)}
		return false
	}
	return r.resource(func() string { return p("resource") }, fullURL, res)
}

// resource reads one resource at the path path() and keeps what the import needs of it.
func (r *fhirReader) resource(path func() string, fullURL string, res []byte) bool {
	r.res = fhirResource{}
	o := &r.res
	if err := json.Unmarshal(res, o); err != nil {
		r.err = jsonError(res, path(), err)
		return false
	}
	switch o.ResourceType {
	case "Appointment":
		p := path()
		if len(r.appts) == MaxEntries {
			r.err = &Error{Path: strings.TrimSuffix(p, ".resource"), Msg: fmt.Sprintf("is Appointment number %d: import at most %d at a time (split the Bundle, by date for example)", MaxEntries+1, MaxEntries)}
			return false
		}
		r.appts = append(r.appts, fhirAppt{path: p, a: compactAppointment(o.fhirAppointment)})
	case "Patient", "Device", "Location":
		inc := &fhirIncluded{patient: patientName(o.Name)}
		for _, id := range o.Identifier {
			inc.refs = addUnique(inc.refs, id.Value)
		}
		for _, dn := range o.DeviceName {
			inc.refs = addUnique(inc.refs, dn.Name)
		}
		var locName string
		if json.Unmarshal(o.Name, &locName) == nil {
			inc.refs = addUnique(inc.refs, locName)
		}
		r.others[o.ResourceType+"/"+o.ID] = inc
		if fullURL != "" {
			r.others[fullURL] = inc
		}
	case "":
		r.err = &Error{Path: join(path(), "resourceType"), Msg: "is missing"}
		return false
	}
	return true
}

// compactAppointment keeps what fhirEntryOf reads, in slices of their own so that the
// decoded arrays can go: the first identifier and service type, the first Patient
// participant and the first Device and Location ones, with their places in the array.
func compactAppointment(a fhirAppointment) fhirAppointment {
	a.Identifier = slices.Clone(a.Identifier[:min(len(a.Identifier), 1)])
	a.ServiceType = slices.Clone(a.ServiceType[:min(len(a.ServiceType), 1)])
	if len(a.ServiceType) == 1 {
		st := &a.ServiceType[0]
		n := 0
		for n < len(st.Coding) && st.Coding[n].Display == "" {
			n++
		}
		st.Coding = slices.Clone(st.Coding[:min(n+1, len(st.Coding))])
	}
	var kept []fhirParticipant
	patient, devices := false, 0
	for j, pt := range a.Participant {
		if pt.Actor == nil {
			continue
		}
		pt.index = j
		switch refType(pt.Actor) {
		case "Patient":
			if !patient {
				patient = true
				kept = append(kept, pt)
			}
		case "Device", "Location":
			if devices < maxDeviceParticipants {
				devices++
				kept = append(kept, pt)
			}
		}
	}
	a.Participant = kept
	return a
}

// fhirEntryOf converts one Appointment. A non-empty skip means the entry is valid but not
// imported; an error refuses the file.
func fhirEntryOf(a *fhirAppointment, p string, others map[string]*fhirIncluded) (e Entry, skip string, err error) {
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
	for _, pt := range a.Participant {
		if pt.Actor == nil {
			continue
		}
		pp := join(p, fmt.Sprintf("participant[%d].actor", pt.index))
		kind := refType(pt.Actor)
		switch kind {
		case "Patient":
			if patient != "" {
				continue // the first patient is the one the booth is for
			}
			name := pt.Actor.Display
			if name == "" {
				if o := others[pt.Actor.Reference]; o != nil {
					name = o.patient
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
				for _, s := range o.refs {
					e.DeviceRefs = addUnique(e.DeviceRefs, s)
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
