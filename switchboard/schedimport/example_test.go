package schedimport_test

import (
	"fmt"
	"time"

	"github.com/carebooth/carebooth/switchboard/schedimport"
	"github.com/carebooth/carebooth/switchboard/store"
)

// A room calendar's weekly clinic, read over a window, planned against the clinic's booth.
func Example() {
	cal := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:physio@riverside\r\n" +
		"SUMMARY:Alex Morgan\r\nDTSTART;TZID=Europe/London:20261123T093000\r\nDURATION:PT20M\r\n" +
		"RRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	from := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	batch, err := schedimport.ParseICal(cal, schedimport.ICalOptions{From: from, To: from.AddDate(0, 0, 90)})
	if err != nil {
		fmt.Println(err) // names the line, e.g. "line 6: DTSTART ..."
		return
	}
	devices := []store.Device{{ID: "dev1", Name: "library-booth-1", ClinicID: "c1"}}
	writes, res, err := schedimport.Plan(batch, devices, nil, schedimport.Options{ClinicID: "c1", DefaultDevice: "dev1", Now: from})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d to create\n", res.Created)
	for _, w := range writes {
		fmt.Println(w.Appointment.ExternalID, w.Appointment.Start.Format(time.RFC3339))
	}
	// Output:
	// 3 to create
	// ical:physio@riverside/20261123T093000Z 2026-11-23T09:30:00Z
	// ical:physio@riverside/20261130T093000Z 2026-11-30T09:30:00Z
	// ical:physio@riverside/20261207T093000Z 2026-12-07T09:30:00Z
}

// A malformed file is refused whole, naming where.
func ExampleParseFHIR_refused() {
	_, err := schedimport.ParseFHIR([]byte(`{"resourceType": "Bundle", "entry": [
  {"resource": {"resourceType": "Appointment", "id": "a1", "status": "confirmed"}}]}`))
	fmt.Println(err)
	// Output:
	// entry[0].resource.status: "confirmed" is not an R4 Appointment status (booked, cancelled, ...)
}
