package schedimport

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/store"
)

// bigBundle is a PAS-shaped searchset of n booked appointments over 10 booths, each with
// its patient included, as a FHIR server returns it with _include=Appointment:patient.
func bigBundle(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType": "Bundle", "type": "searchset", "total": ` + fmt.Sprint(n) + `, "entry": [`)
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		s := start.Add(time.Duration(i) * 30 * time.Minute)
		fmt.Fprintf(&b, `
  {"fullUrl": "https://pas.example.nhs.uk/fhir/R4/Appointment/a%[1]d", "resource": {"resourceType": "Appointment", "id": "a%[1]d",
    "meta": {"versionId": "1", "lastUpdated": "2026-11-20T16:02:11.000+00:00"},
    "identifier": [{"system": "https://fhir.nhs.uk/Id/local-appointment-identifier", "value": "RX1-%[1]d"}],
    "status": "booked", "serviceType": [{"coding": [{"system": "https://fhir.nhs.uk/CodeSystem/UKCore-ServiceType", "code": "gp", "display": "GP video consultation"}]}],
    "start": %[2]q, "end": %[3]q,
    "participant": [{"actor": {"reference": "Patient/p%[1]d"}, "status": "accepted"},
                    {"actor": {"reference": "Practitioner/dr-patel", "display": "Dr Priya Patel"}, "status": "accepted"},
                    {"actor": {"reference": "Location/booth-%[4]d", "display": "booth-%[4]d"}, "status": "accepted"}]}},
  {"fullUrl": "https://pas.example.nhs.uk/fhir/R4/Patient/p%[1]d", "resource": {"resourceType": "Patient", "id": "p%[1]d",
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
    "name": [{"use": "official", "family": "Patient%[1]d", "given": ["Alex"]}], "birthDate": "1958-03-14"},
    "search": {"mode": "include"}}`, i, s.Format(time.RFC3339), s.Add(20*time.Minute).Format(time.RFC3339), i%10)
	}
	b.WriteString("\n]}\n")
	return []byte(b.String())
}

// BenchmarkImportFHIR imports a bundle of 10,000 appointments (and their 10,000 included
// patients): parsing alone, parsing and planning, and the whole import into each store
// (one transaction), first time (all created) and again (all unchanged).
func BenchmarkImportFHIR(b *testing.B) {
	const n = 10000
	data := bigBundle(n)
	devices := make([]store.Device, 10)
	for i := range devices {
		devices[i] = store.Device{ID: fmt.Sprintf("dev%d", i), Name: fmt.Sprintf("booth-%d", i), ClinicID: "c1", Role: device.RoleBooth, TokenHash: fmt.Sprint(i)}
	}
	opt := Options{ClinicID: "c1", Now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	report := func(b *testing.B, per time.Duration) {
		b.ReportMetric(float64(n)/per.Seconds(), "appointments/s")
		b.Logf("%d appointments, %.1f MB: %v per import, %.0f appointments/s", n, float64(len(data))/1e6, per.Round(time.Millisecond), float64(n)/per.Seconds())
	}
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		t0 := time.Now()
		for b.Loop() {
			if _, err := ParseFHIR(data); err != nil {
				b.Fatal(err)
			}
		}
		report(b, time.Since(t0)/time.Duration(b.N))
	})
	importInto := func(b *testing.B, open func(b *testing.B) store.Store) {
		b.SetBytes(int64(len(data)))
		var first, again time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st := open(b)
			b.StartTimer()
			for round := range 2 {
				t0 := time.Now()
				batch, err := ParseFHIR(data)
				if err != nil {
					b.Fatal(err)
				}
				var res Result
				written, err := st.ImportAppointments("c1", batch.ExternalIDs(), func(existing map[string]store.Appointment) ([]store.ImportWrite, error) {
					w, r, err := Plan(batch, devices, existing, opt)
					res = r
					return w, err
				})
				if err != nil {
					b.Fatal(err)
				}
				if round == 0 {
					first += time.Since(t0)
					if res.Created != n || len(written) != n {
						b.Fatalf("first import: got %d created, want %d", res.Created, n)
					}
				} else {
					again += time.Since(t0)
					if res.Unchanged != n || len(written) != 0 {
						b.Fatalf("re-import: got %d unchanged, %d written, want %d, 0", res.Unchanged, len(written), n)
					}
				}
			}
			b.StopTimer()
			st.Close()
			b.StartTimer()
		}
		report(b, first/time.Duration(b.N))
		b.Logf("re-import of the same bundle (all unchanged): %v", (again / time.Duration(b.N)).Round(time.Millisecond))
	}
	b.Run("memory", func(b *testing.B) {
		importInto(b, func(*testing.B) store.Store { return store.NewMemory() })
	})
	b.Run("bolt", func(b *testing.B) {
		importInto(b, func(b *testing.B) store.Store {
			st, err := store.OpenBolt(filepath.Join(b.TempDir(), fmt.Sprintf("sb-%d.db", time.Now().UnixNano())))
			if err != nil {
				b.Fatal(err)
			}
			return st
		})
	})
}

// BenchmarkRefuseAmplifying times and weighs the refusal of files built to amplify: the
// issue's 6 KB calendar of 40 hourly events at every minute (before the bounds: 10 s and
// 2.6 GB), hourly rules from 1601 with a huge COUNT, and a 16 MiB-class FHIR Bundle of
// 20,001 Appointments. Run with -benchtime 1x; it prints each figure.
func BenchmarkRefuseAmplifying(b *testing.B) {
	var appts []string
	for i := range MaxEntries + 1 {
		appts = append(appts, appointmentJSON(i))
	}
	bundle := bundleOf(appts)
	files := []struct {
		name  string
		data  []byte
		parse func([]byte) error
	}{
		{"ical 40 hourly events x 60 minutes", recurringCal(40, "20261123T090000Z", "FREQ=HOURLY;BYMINUTE="+numbers(0, 59), ""),
			func(d []byte) error { _, err := ParseICal(d, window); return err }},
		{"ical hourly from 1601, COUNT=2e9", recurringCal(3, "16010101T090000Z", "FREQ=HOURLY;BYMINUTE=0,30;COUNT=2000000000", ""),
			func(d []byte) error { _, err := ParseICal(d, window); return err }},
		{"fhir 20,001 Appointments", bundle,
			func(d []byte) error { _, err := ParseFHIR(d); return err }},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			for range b.N {
				var err error
				start := time.Now()
				mb := allocated(func() { err = f.parse(f.data) })
				elapsed := time.Since(start)
				if err == nil {
					b.Fatal("accepted")
				}
				b.ReportMetric(mb, "MB-alloc")
				fmt.Printf("refused %s (%.1f KB) in %v, allocating %.1f MB\n", f.name, float64(len(f.data))/1e3, elapsed.Round(time.Millisecond), mb)
			}
		})
	}
}
