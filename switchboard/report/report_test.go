package report_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/report"
	"github.com/carebooth/carebooth/switchboard/store"
)

var (
	day0 = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	now  = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
)

func hm(day int, h, m int) time.Time {
	return day0.AddDate(0, 0, day).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

var (
	dev       = appointment.Actor{Kind: appointment.ActorDevice, ID: "booth"}
	clinician = appointment.Actor{Kind: appointment.ActorClinician, ID: "dr"}
)

type step struct {
	ev    appointment.Event
	actor appointment.Actor
	at    time.Time
}

// fixture builds the store the hand-computed figures below come from.
type fixture struct {
	t  *testing.T
	st *store.Memory
}

func (f fixture) book(clinic, dev string, start time.Time, status appointment.Status, steps ...step) store.Appointment {
	f.t.Helper()
	a := store.Appointment{ClinicID: clinic, DeviceID: dev, Patient: "P", Start: start, End: start.Add(20 * time.Minute),
		Status: status, CreatedAt: day0, UpdatedAt: day0}
	if err := f.st.CreateAppointment(&a); err != nil {
		f.t.Fatal(err)
	}
	for _, s := range steps {
		var err error
		if a, _, err = f.st.Apply(a.ID, store.EventInput{Event: s.ev, Actor: s.actor, At: s.at, Received: s.at}); err != nil {
			f.t.Fatalf("%s at %v: %v", s.ev, s.at, err)
		}
	}
	return a
}

func newFixture(t *testing.T) (*store.Memory, store.Clinic) {
	st := store.NewMemory()
	f := fixture{t, st}
	c := store.Clinic{Name: "=Riverside Surgery, Leeds"}
	other := store.Clinic{Name: "Hillside"}
	for _, x := range []*store.Clinic{&c, &other} {
		if err := st.CreateClinic(x); err != nil {
			t.Fatal(err)
		}
	}
	A := store.Device{ID: "devA", Name: "library-booth-1", ClinicID: c.ID, Role: device.RoleBooth, TokenHash: "a"}
	B := store.Device{ID: "devB", Name: "care-home-tablet", ClinicID: c.ID, Role: device.RoleBooth, TokenHash: "b"}
	C := store.Device{ID: "devC", Name: "spare-booth", ClinicID: c.ID, Role: device.RoleBooth, TokenHash: "c"}
	O := store.Device{ID: "devO", Name: "hill-booth", ClinicID: other.ID, Role: device.RoleBooth, TokenHash: "o"}
	for _, d := range []*store.Device{&A, &B, &C, &O} {
		if err := st.CreateDevice(d); err != nil {
			t.Fatal(err)
		}
	}
	sys := appointment.System
	S := appointment.Scheduled
	// Booth A.
	f.book(c.ID, "devA", hm(0, 10, 0), S, // waited 300 s, call 900 s
		step{appointment.OpenWindow, sys, hm(0, 9, 55)}, step{appointment.Arrive, dev, hm(0, 9, 58)},
		step{appointment.Admit, clinician, hm(0, 10, 3)}, step{appointment.End, clinician, hm(0, 10, 18)})
	f.book(c.ID, "devA", hm(0, 11, 0), S, // waited 120 s, booth lost and back: call 1140 s, 1 reconnect
		step{appointment.OpenWindow, sys, hm(0, 10, 55)}, step{appointment.Arrive, dev, hm(0, 10, 59)},
		step{appointment.Admit, clinician, hm(0, 11, 1)}, step{appointment.DeviceLost, sys, hm(0, 11, 5)},
		step{appointment.OpenWindow, sys, hm(0, 11, 6)}, step{appointment.Arrive, dev, hm(0, 11, 7)},
		step{appointment.Admit, clinician, hm(0, 11, 8)}, step{appointment.End, clinician, hm(0, 11, 20)})
	f.book(c.ID, "devA", hm(0, 14, 0), S)                                                         // nobody came: DNA
	f.book(c.ID, "devA", hm(0, 15, 0), S, step{appointment.MarkNoShow, clinician, hm(0, 15, 10)}) // DNA
	f.book(c.ID, "devA", hm(0, 16, 0), S, step{appointment.Cancel, clinician, hm(0, 8, 0)})       // cancelled
	f.book(c.ID, "devA", hm(1, 9, 0), S,                                                          // waited 600 s, then moved to the telephone
		step{appointment.OpenWindow, sys, hm(1, 8, 55)}, step{appointment.Arrive, dev, hm(1, 8, 57)},
		step{appointment.Admit, clinician, hm(1, 9, 7)}, step{appointment.MoveTelephone, clinician, hm(1, 9, 10)})
	f.book(c.ID, "devA", hm(9, 9, 0), S)  // after the range
	f.book(c.ID, "devA", hm(4, 20, 0), S) // in the range but later than now: not a DNA yet
	// Booth B.
	f.book(c.ID, "devB", hm(2, 10, 0), S, // waited 60 s, clinician lost and back: call 1740 s, 1 reconnect
		step{appointment.OpenWindow, dev, hm(2, 9, 59)}, step{appointment.Arrive, dev, hm(2, 10, 0)},
		step{appointment.Admit, clinician, hm(2, 10, 1)}, step{appointment.ClinicianLost, sys, hm(2, 10, 5)},
		step{appointment.Admit, clinician, hm(2, 10, 6)}, step{appointment.End, clinician, hm(2, 10, 30)})
	f.book(c.ID, "devB", hm(2, 11, 0), S)                 // DNA
	f.book(c.ID, "devB", hm(2, 12, 0), appointment.Ended) // from before histories were kept: attended
	// Another clinic.
	f.book(other.ID, "devO", hm(0, 10, 0), S)
	return st, c
}

func f64(v float64) *float64 { return &v }

func eqPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

func checkMetrics(t *testing.T, name string, got, want report.Metrics) {
	t.Helper()
	ints := [][3]any{
		{"appointments", got.Appointments, want.Appointments}, {"attended", got.Attended, want.Attended},
		{"did_not_attend", got.DidNotAttend, want.DidNotAttend}, {"cancelled", got.Cancelled, want.Cancelled},
		{"moved_to_telephone", got.MovedToTelephone, want.MovedToTelephone}, {"reconnects", got.Reconnects, want.Reconnects},
		{"wait_samples", got.WaitSamples, want.WaitSamples}, {"call_samples", got.CallSamples, want.CallSamples},
		{"quality_samples", got.QualitySamples, want.QualitySamples},
	}
	for _, x := range ints {
		if x[1] != x[2] {
			t.Errorf("%s %s: got %v, want %v", name, x[0], x[1], x[2])
		}
	}
	floats := []struct {
		n         string
		got, want *float64
	}{
		{"dna_rate", got.DNARate, want.DNARate}, {"wait_median", got.WaitMedianSeconds, want.WaitMedianSeconds},
		{"wait_p90", got.WaitP90Seconds, want.WaitP90Seconds}, {"call_median", got.CallMedianSeconds, want.CallMedianSeconds},
		{"call_p90", got.CallP90Seconds, want.CallP90Seconds}, {"bitrate", got.MeanBitrateKbps, want.MeanBitrateKbps},
		{"packet_loss", got.MeanPacketLossPct, want.MeanPacketLossPct},
	}
	for _, x := range floats {
		if !eqPtr(x.got, x.want) {
			t.Errorf("%s %s: got %v, want %v", name, x.n, show(x.got), show(x.want))
		}
	}
}

func show(f *float64) any {
	if f == nil {
		return "null"
	}
	return *f
}

// The figures below are worked out by hand from the fixture.
var (
	wantA = report.Metrics{
		Appointments: 6, Attended: 3, DidNotAttend: 2, DNARate: f64(0.4), Cancelled: 1, MovedToTelephone: 1, Reconnects: 1,
		// waits 120, 300, 600: median 300; p90 at rank 1.8 = 300 + 0.8*300
		WaitMedianSeconds: f64(300), WaitP90Seconds: f64(540), WaitSamples: 3,
		// calls 900, 1140: median 1020; p90 at rank 0.9 = 900 + 0.9*240
		CallMedianSeconds: f64(1020), CallP90Seconds: f64(1116), CallSamples: 2,
	}
	wantB = report.Metrics{
		Appointments: 3, Attended: 2, DidNotAttend: 1, DNARate: f64(1.0 / 3), Reconnects: 1,
		WaitMedianSeconds: f64(60), WaitP90Seconds: f64(60), WaitSamples: 1,
		CallMedianSeconds: f64(1740), CallP90Seconds: f64(1740), CallSamples: 1,
	}
	wantTotal = report.Metrics{
		Appointments: 9, Attended: 5, DidNotAttend: 3, DNARate: f64(0.375), Cancelled: 1, MovedToTelephone: 1, Reconnects: 2,
		// waits 60, 120, 300, 600: median at rank 1.5 = 210; p90 at rank 2.7 = 300 + 0.7*300
		WaitMedianSeconds: f64(210), WaitP90Seconds: f64(510), WaitSamples: 4,
		// calls 900, 1140, 1740: median 1140; p90 at rank 1.8 = 1140 + 0.8*600
		CallMedianSeconds: f64(1140), CallP90Seconds: f64(1620), CallSamples: 3,
	}
)

func TestBuildAgainstHandComputedFixture(t *testing.T) {
	st, c := newFixture(t)
	rep, err := report.Build(st, nil, report.Query{From: day0, To: day0.AddDate(0, 0, 5), ClinicIDs: []string{c.ID}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Clinics) != 1 || rep.Clinics[0].ClinicName != c.Name {
		t.Fatalf("clinics: got %+v, want only %s", rep.Clinics, c.Name)
	}
	cr := rep.Clinics[0]
	checkMetrics(t, "total", cr.Total, wantTotal)
	sites := map[string]report.Metrics{}
	var order []string
	for _, s := range cr.Sites {
		sites[s.Site] = s.Metrics
		order = append(order, s.Site)
	}
	if strings.Join(order, ",") != "care-home-tablet,library-booth-1,spare-booth" {
		t.Errorf("sites: got %v, want care-home-tablet, library-booth-1, spare-booth (by name)", order)
	}
	checkMetrics(t, "library-booth-1", sites["library-booth-1"], wantA)
	checkMetrics(t, "care-home-tablet", sites["care-home-tablet"], wantB)
	checkMetrics(t, "spare-booth", sites["spare-booth"], report.Metrics{})
	if len(rep.Notes) != 1 || rep.Notes[0] != report.NoteQualityNotReported {
		t.Errorf("notes: got %q, want the not-reported note", rep.Notes)
	}
}

type fakeQuality map[string]report.Quality

func (f fakeQuality) CallQuality([]string) (map[string]report.Quality, error) { return f, nil }

func TestBuildWithQuality(t *testing.T) {
	st, c := newFixture(t)
	as, _ := st.AppointmentsByDevice("devB", day0, day0.AddDate(0, 0, 5))
	q := fakeQuality{as[0].ID: {BitrateKbps: 800, PacketLossPct: 1}, as[2].ID: {BitrateKbps: 600, PacketLossPct: 3}, as[1].ID: {BitrateKbps: 9999}}
	rep, err := report.Build(st, q, report.Query{From: day0, To: day0.AddDate(0, 0, 5), ClinicIDs: []string{c.ID}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Clinics[0].Sites {
		if s.Site != "care-home-tablet" {
			continue
		}
		// as[1] was a DNA: its "quality" is ignored.
		if s.Metrics.QualitySamples != 2 || !eqPtr(s.Metrics.MeanBitrateKbps, f64(700)) || !eqPtr(s.Metrics.MeanPacketLossPct, f64(2)) {
			t.Errorf("quality: got %d samples, %v kbps, %v %%; want 2, 700, 2", s.Metrics.QualitySamples, show(s.Metrics.MeanBitrateKbps), show(s.Metrics.MeanPacketLossPct))
		}
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes: got %q, want none when quality is reported", rep.Notes)
	}
}

func TestBuildRefusesEmptyRange(t *testing.T) {
	if _, err := report.Build(store.NewMemory(), nil, report.Query{From: day0, To: day0}); err != report.ErrRange {
		t.Errorf("got %v, want ErrRange", err)
	}
}

func TestWriteCSV(t *testing.T) {
	st, c := newFixture(t)
	rep, err := report.Build(st, nil, report.Query{From: day0, To: day0.AddDate(0, 0, 5), ClinicIDs: []string{c.ID}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	if !strings.HasSuffix(raw, "\r\n") || strings.Count(raw, "\r\n") != 5 || strings.Contains(strings.ReplaceAll(raw, "\r\n", ""), "\n") {
		t.Errorf("want 5 records each ended by CRLF (RFC 4180), got %q", raw)
	}
	recs, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(report.CSVHeader, ",") {
		t.Errorf("header: got %v", recs[0])
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	clinicRow, siteA, spare := recs[1], recs[3], recs[4]
	checks := []struct {
		rec        []string
		name, want string
	}{
		{clinicRow, "level", "clinic"},
		{clinicRow, "clinic_name", "'=Riverside Surgery, Leeds"}, // quoted for the comma, defused for the "="
		{clinicRow, "appointments", "9"},
		{clinicRow, "dna_rate", "0.3750"},
		{clinicRow, "wait_median_seconds", "210.0"},
		{clinicRow, "call_p90_seconds", "1620.0"},
		{clinicRow, "mean_bitrate_kbps", ""}, // not reported: empty, never 0
		{clinicRow, "from", "2026-11-16T00:00:00Z"},
		{siteA, "site", "library-booth-1"},
		{siteA, "device_id", "devA"},
		{siteA, "wait_p90_seconds", "540.0"},
		{spare, "dna_rate", ""},
		{spare, "appointments", "0"},
	}
	for _, ck := range checks {
		if got := ck.rec[col[ck.name]]; got != ck.want {
			t.Errorf("%s of %s row: got %q, want %q", ck.name, ck.rec[col["site"]], got, ck.want)
		}
	}
	if !strings.Contains(raw, `"'=Riverside Surgery, Leeds"`) {
		t.Errorf("clinic name not quoted: %q", raw)
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		xs   []float64
		p    float64
		want *float64
	}{
		{nil, 50, nil},
		{[]float64{7}, 90, f64(7)},
		{[]float64{4, 1, 3, 2}, 50, f64(2.5)},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, f64(9.1)}, // Excel PERCENTILE.INC
		{[]float64{1, 2}, 0, f64(1)},
		{[]float64{1, 2}, 100, f64(2)},
	}
	for _, tt := range tests {
		if got := report.Percentile(tt.xs, tt.p); !eqPtr(got, tt.want) {
			t.Errorf("Percentile(%v, %v): got %v, want %v", tt.xs, tt.p, show(got), show(tt.want))
		}
	}
}

// onlySource hides the store's batch history read, so Build reads one history at a time.
type onlySource struct{ report.Source }

func TestBuildOneHistoryAtATime(t *testing.T) {
	st, c := newFixture(t)
	rep, err := report.Build(onlySource{st}, nil, report.Query{From: day0, To: day0.AddDate(0, 0, 5), ClinicIDs: []string{c.ID}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, "total", rep.Clinics[0].Total, wantTotal)
}

// A call whose media failed and that the clinician admitted again is one consultation with
// one reconnect, as with a lost connection.
func TestBuildCountsFailedCallAsReconnect(t *testing.T) {
	st := store.NewMemory()
	f := fixture{t, st}
	c := store.Clinic{Name: "Riverside"}
	if err := st.CreateClinic(&c); err != nil {
		t.Fatal(err)
	}
	d := store.Device{ID: "devA", Name: "booth", ClinicID: c.ID, Role: device.RoleBooth, TokenHash: "a"}
	if err := st.CreateDevice(&d); err != nil {
		t.Fatal(err)
	}
	f.book(c.ID, "devA", hm(0, 10, 0), appointment.Scheduled,
		step{appointment.OpenWindow, appointment.System, hm(0, 9, 55)}, step{appointment.Arrive, dev, hm(0, 9, 58)},
		step{appointment.Admit, clinician, hm(0, 10, 0)}, step{appointment.CallFailed, dev, hm(0, 10, 2)},
		step{appointment.Admit, clinician, hm(0, 10, 3)}, step{appointment.End, clinician, hm(0, 10, 20)})
	rep, err := report.Build(st, nil, report.Query{From: day0, To: day0.AddDate(0, 0, 1), ClinicIDs: []string{c.ID}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Clinics[0].Total
	if m.Attended != 1 || m.Reconnects != 1 {
		t.Errorf("got attended %d, reconnects %d; want 1 and 1", m.Attended, m.Reconnects)
	}
}

// Quality the booth reported, kept on the appointment, is what the report averages when no
// other source is given; a DNA's is ignored.
func TestBuildUsesReportedQuality(t *testing.T) {
	st, c := newFixture(t)
	as, _ := st.AppointmentsByDevice("devB", day0, day0.AddDate(0, 0, 5))
	for i, q := range []*store.CallQuality{
		new(store.CallQuality).With("c1", 900, 2, 20, 600).With("c2", 700, 0, 10, 300), // two calls: means 800 and 1
		{Calls: 1, BitrateKbps: 9999, PacketLossPct: 50},                               // as[1] was a DNA: ignored
		new(store.CallQuality).With("c3", 600, 3, 0, 60),
	} {
		if _, err := st.UpdateAppointment(as[i].ID, func(a *store.Appointment) error { a.Quality = q; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := report.Build(st, nil, report.Query{From: day0, To: day0.AddDate(0, 0, 5), ClinicIDs: []string{c.ID}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range rep.Clinics[0].Sites {
		if s.Site != "care-home-tablet" {
			continue
		}
		found = true
		if s.Metrics.QualitySamples != 2 || !eqPtr(s.Metrics.MeanBitrateKbps, f64(700)) || !eqPtr(s.Metrics.MeanPacketLossPct, f64(2)) {
			t.Errorf("quality: got %d samples, %v kbps, %v %%; want 2, 700, 2", s.Metrics.QualitySamples, show(s.Metrics.MeanBitrateKbps), show(s.Metrics.MeanPacketLossPct))
		}
	}
	if !found {
		t.Fatal("no care-home-tablet site in the report")
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes: got %q, want none when quality is reported", rep.Notes)
	}
}
