package switchboard

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/provisioning/enrol"
	"github.com/carebooth/carebooth/signalling"
	"github.com/carebooth/carebooth/switchboard/api"
)

// Every body openapi.yaml documents has the fields of its type in package api, and no
// other: the server sends those types and apiclient reads them, so the document, the
// server and the client agree field by field (nested objects and array items too).
func TestOpenAPISchemasMatchAPITypes(t *testing.T) {
	doc := loadOpenAPI(t)
	body := func(t *testing.T, path, method, status string) *openapi3.Schema {
		t.Helper()
		op := doc.Paths.Value(path).GetOperation(method)
		if op == nil {
			t.Fatalf("openapi.yaml has no %s %s", method, path)
		}
		var content openapi3.Content
		if status == "" {
			content = op.RequestBody.Value.Content
		} else {
			content = op.Responses.Value(status).Value.Content
		}
		return content.Get("application/json").Schema.Value
	}
	component := func(name string) func(*testing.T) *openapi3.Schema {
		return func(*testing.T) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	}
	path := func(path, method, status string) func(*testing.T) *openapi3.Schema {
		return func(t *testing.T) *openapi3.Schema { return body(t, path, method, status) }
	}
	tests := []struct {
		name   string
		schema func(*testing.T) *openapi3.Schema
		v      any
	}{
		{"Error", component("Error"), api.ErrorBody{}},
		{"Clinic", component("Clinic"), api.Clinic{}},
		{"Clinician", component("Clinician"), api.Clinician{}},
		{"Device", component("Device"), api.Device{}},
		{"Appointment", component("Appointment"), api.Appointment{}},
		{"Record", component("Record"), appointment.Record{}},
		{"ImportResult", component("ImportResult"), api.ImportResult{}},
		{"ReportMetrics", component("ReportMetrics"), api.ReportMetrics{}},
		{"Report", component("Report"), api.Report{}},
		{"Release", component("Release"), api.Release{}},
		{"FirmwareAnnouncement", component("FirmwareAnnouncement"), api.FirmwareAnnouncement{}},
		{"FirmwareReport", component("FirmwareReport"), api.FirmwareReport{}},
		{"releases", path("/api/v1/firmware", "GET", "200"), api.Releases{}},
		{"Queue", component("Queue"), signalling.Queue{}},
		{"login request", path("/api/v1/login", "POST", ""), api.LoginRequest{}},
		{"login", path("/api/v1/login", "POST", "200"), api.Login{}},
		{"me", path("/api/v1/me", "GET", "200"), api.Me{}},
		{"device", path("/api/v1/devices/{id}", "GET", "200"), api.DeviceDetail{}},
		{"clinics", path("/api/v1/clinics", "GET", "200"), api.Clinics{}},
		{"new clinic", path("/api/v1/clinics", "POST", ""), api.NewClinic{}},
		{"new clinician", path("/api/v1/clinicians", "POST", ""), api.NewClinician{}},
		{"devices", path("/api/v1/devices", "GET", "200"), api.Devices{}},
		{"new device", path("/api/v1/devices", "POST", ""), api.NewDevice{}},
		{"created device", path("/api/v1/devices", "POST", "201"), api.DeviceCreated{}},
		{"appointments", path("/api/v1/appointments", "GET", "200"), api.Appointments{}},
		{"new appointment", path("/api/v1/appointments", "POST", ""), api.NewAppointment{}},
		{"events", path("/api/v1/appointments/{id}/events", "GET", "200"), api.History{}},
		{"device settings", path("/api/v1/devices/{id}/settings", "PUT", ""), api.DeviceSettings{}},
		{"device settings result", path("/api/v1/devices/{id}/settings", "PUT", "200"), api.DeviceSettingsChanged{}},
		{"revoke", path("/api/v1/devices/{id}/revoke", "POST", ""), api.RevokeDevice{}},
		{"revoked", path("/api/v1/devices/{id}/revoke", "POST", "200"), api.DeviceRevoked{}},
		{"audit", path("/api/v1/audit", "GET", "200"), api.AuditLog{}},
		{"ConfigDocument", component("ConfigDocument"), api.ConfigDocument{}},
		{"config put", path("/api/v1/config", "PUT", ""), api.ConfigPut{}},
		{"config pushed", path("/api/v1/config", "PUT", "200"), api.ConfigPushed{}},
		{"enrol request", path("/api/v1/enrol", "POST", ""), enrol.Request{}},
		{"enrol status", func(*testing.T) *openapi3.Schema {
			return doc.Components.Responses["EnrolStatus"].Value.Content.Get("application/json").Schema.Value
		}, enrol.Status{}},
		{"enrolments", path("/api/v1/enrolments", "GET", "200"), api.Enrolments{}},
		{"approval", path("/api/v1/enrolments/approve", "POST", ""), enrol.Approval{}},
		{"StaffView", component("StaffView"), api.StaffView{}},
		{"HelpStatus", component("HelpStatus"), signalling.HelpStatus{}},
		{"help acknowledged", path("/api/v1/devices/{id}/help/acknowledge", "POST", "200"), api.HelpAcknowledged{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compareSchema(t, tt.name, tt.schema(t), reflect.TypeOf(tt.v))
		})
	}
}

var timeType = reflect.TypeFor[time.Time]()

// compareSchema checks that s documents the JSON of typ: the same object properties as
// typ's fields, recursively.
func compareSchema(t *testing.T, where string, s *openapi3.Schema, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8:
		// []byte is a base64 string in JSON.
	case typ.Kind() == reflect.Slice:
		if s.Items == nil {
			t.Errorf("%s: openapi.yaml gives no items for the array of %s", where, typ.Elem())
			return
		}
		compareSchema(t, where+"[]", s.Items.Value, typ.Elem())
	case typ.Kind() == reflect.Struct && typ != timeType:
		fields := jsonFields(typ)
		var names []string
		for name := range fields {
			names = append(names, name)
		}
		for name := range s.Properties {
			if _, ok := fields[name]; !ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			ft, inGo := fields[name]
			p, inDoc := s.Properties[name]
			switch {
			case !inDoc:
				t.Errorf("%s.%s: %s has it, openapi.yaml does not document it", where, name, typ)
			case !inGo:
				t.Errorf("%s.%s: openapi.yaml documents it, %s has no such field", where, name, typ)
			default:
				compareSchema(t, where+"."+name, p.Value, ft)
			}
		}
	}
}

// jsonFields maps the JSON names of typ's fields to their types.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
