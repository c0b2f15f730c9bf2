package report_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/report"
	"github.com/carebooth/carebooth/switchboard/store"
)

// seedYear books perDay appointments a day for a year at each of clinics clinics (two
// booths each) with a realistic mix: 75 % attended (window, arrive, admit, end), 10 % no-show,
// 8 % cancelled, 4 % never came, 3 % moved to the telephone. It returns the clinic IDs and
// the number of appointments.
func seedYear(b *testing.B, st store.Store, clinics, perDay int, start time.Time) ([]string, int) {
	b.Helper()
	var ids []string
	n := 0
	sys := appointment.System
	dev := appointment.Actor{Kind: appointment.ActorDevice}
	doc := appointment.Actor{Kind: appointment.ActorClinician}
	for ci := range clinics {
		c := store.Clinic{Name: fmt.Sprintf("Clinic %02d", ci)}
		if err := st.CreateClinic(&c); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
		var devs []string
		for di := range 2 {
			d := store.Device{Name: fmt.Sprintf("booth-%02d-%d", ci, di), ClinicID: c.ID, Role: device.RoleBooth, TokenHash: fmt.Sprintf("%d-%d", ci, di)}
			if err := st.CreateDevice(&d); err != nil {
				b.Fatal(err)
			}
			devs = append(devs, d.ID)
		}
		for day := range 365 {
			for k := range perDay {
				s := start.AddDate(0, 0, day).Add(time.Duration(8*60+k*30) * time.Minute)
				a := store.Appointment{ClinicID: c.ID, DeviceID: devs[k%2], Patient: "P", Start: s, End: s.Add(20 * time.Minute),
					Status: appointment.Scheduled, CreatedAt: start, UpdatedAt: start}
				if err := st.CreateAppointment(&a); err != nil {
					b.Fatal(err)
				}
				n++
				ev := func(e appointment.Event, who appointment.Actor, min int) store.EventInput {
					at := s.Add(time.Duration(min) * time.Minute)
					return store.EventInput{Event: e, Actor: who, At: at, Received: at}
				}
				var evs []store.EventInput
				switch r := (n * 37) % 100; {
				case r < 75:
					evs = []store.EventInput{ev(appointment.OpenWindow, sys, -5), ev(appointment.Arrive, dev, -2),
						ev(appointment.Admit, doc, r%7), ev(appointment.End, doc, 10+r%11)}
				case r < 85:
					evs = []store.EventInput{ev(appointment.MarkNoShow, doc, 15)}
				case r < 93:
					evs = []store.EventInput{ev(appointment.Cancel, doc, -600)}
				case r < 97:
				default:
					evs = []store.EventInput{ev(appointment.MoveTelephone, doc, 3)}
				}
				if len(evs) > 0 {
					if _, _, err := st.Apply(a.ID, evs...); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	return ids, n
}

// BenchmarkReportYear50Clinics is the commissioners' report over a year of appointments
// for 50 clinics (two booths each, 10 appointments a day: 182,500 appointments, about
// 550,000 history records), from the in-memory and the bbolt store.
func BenchmarkReportYear50Clinics(b *testing.B) {
	start := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	q := func(ids []string) report.Query {
		return report.Query{From: start, To: start.AddDate(1, 0, 0), ClinicIDs: ids, Now: start.AddDate(1, 0, 1)}
	}
	run := func(b *testing.B, st store.Store, ids []string, n int) {
		b.ReportAllocs()
		var rep *report.Report
		t0 := time.Now()
		for b.Loop() {
			var err error
			if rep, err = report.Build(st, nil, q(ids)); err != nil {
				b.Fatal(err)
			}
		}
		per := time.Since(t0) / time.Duration(b.N)
		total := 0
		for _, c := range rep.Clinics {
			total += c.Total.Appointments + c.Total.Cancelled
		}
		if total != n {
			b.Fatalf("report covers %d appointments, want %d", total, n)
		}
		b.ReportMetric(float64(n)/per.Seconds(), "appointments/s")
		b.Logf("%d clinics, %d appointments: %v per report, %.0f appointments/s", len(ids), n, per.Round(time.Millisecond), float64(n)/per.Seconds())
	}

	b.Run("memory", func(b *testing.B) {
		st := store.NewMemory()
		ids, n := seedYear(b, st, 50, 10, start)
		run(b, st, ids, n)
	})
	b.Run("bolt", func(b *testing.B) {
		// bbolt fsyncs every write: seed on tmpfs when there is one, or this takes minutes.
		dir := b.TempDir()
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			if d, err := os.MkdirTemp("/dev/shm", "carebooth-bench-"); err == nil {
				dir = d
				b.Cleanup(func() { os.RemoveAll(d) })
			}
		}
		st, err := store.OpenBolt(filepath.Join(dir, "switchboard.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		ids, n := seedYear(b, st, 50, 10, start)
		run(b, st, ids, n)
	})
}
