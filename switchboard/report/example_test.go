package report_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/carebooth/carebooth/appointment"
	"github.com/carebooth/carebooth/device"
	"github.com/carebooth/carebooth/switchboard/report"
	"github.com/carebooth/carebooth/switchboard/store"
)

// A week's report for one clinic with one attended appointment, as CSV.
func ExampleBuild() {
	st := store.NewMemory()
	c := store.Clinic{ID: "c1", Name: "Riverside Surgery"}
	st.CreateClinic(&c)
	st.CreateDevice(&store.Device{ID: "d1", Name: "library-booth-1", ClinicID: "c1", Role: device.RoleBooth})
	start := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	a := store.Appointment{ClinicID: "c1", DeviceID: "d1", Patient: "Alex Morgan", Start: start, End: start.Add(20 * time.Minute), Status: appointment.Scheduled}
	st.CreateAppointment(&a)
	at := func(ev appointment.Event, kind appointment.ActorKind, min int) store.EventInput {
		t := start.Add(time.Duration(min) * time.Minute)
		return store.EventInput{Event: ev, Actor: appointment.Actor{Kind: kind}, At: t, Received: t}
	}
	st.Apply(a.ID, at(appointment.OpenWindow, appointment.ActorSystem, -5), at(appointment.Arrive, appointment.ActorDevice, -2),
		at(appointment.Admit, appointment.ActorClinician, 1), at(appointment.End, appointment.ActorClinician, 16))

	rep, err := report.Build(st, nil, report.Query{From: start.AddDate(0, 0, -1), To: start.AddDate(0, 0, 6), ClinicIDs: []string{"c1"}, Now: start.AddDate(0, 0, 7)})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := rep.Clinics[0].Total
	fmt.Printf("%d booked, %d attended, wait %.0f s, call %.0f s\n", m.Appointments, m.Attended, *m.WaitMedianSeconds, *m.CallMedianSeconds)
	var csv strings.Builder
	if err := report.WriteCSV(&csv, rep); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(csv.String(), "\r\n", "\n")) // RFC 4180 ends lines with CRLF
	// Output:
	// 1 booked, 1 attended, wait 180 s, call 900 s
	// level,clinic_id,clinic_name,site,device_id,from,to,appointments,attended,did_not_attend,dna_rate,cancelled,moved_to_telephone,reconnects,wait_median_seconds,wait_p90_seconds,wait_samples,call_median_seconds,call_p90_seconds,call_samples,mean_bitrate_kbps,mean_packet_loss_pct,quality_samples
	// clinic,c1,Riverside Surgery,,,2026-11-15T10:00:00Z,2026-11-22T10:00:00Z,1,1,0,0.0000,0,0,0,180.0,180.0,1,900.0,900.0,1,,,0
	// site,c1,Riverside Surgery,library-booth-1,d1,2026-11-15T10:00:00Z,2026-11-22T10:00:00Z,1,1,0,0.0000,0,0,0,180.0,180.0,1,900.0,900.0,1,,,0
}
