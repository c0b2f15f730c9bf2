package schedimport

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// allocated is what fn allocates, in MB, counting what the garbage collector has freed.
func allocated(fn func()) float64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / 1e6
}

// recurringCal is n recurring events amp-0, amp-1, ... for Alex Morgan, each with rule from
// dtstart; event i's RRULE is on line 7+7i. extra goes into each VEVENT.
func recurringCal(n int, dtstart, rule, extra string) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\n")
	for i := range n {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:amp-%d\r\nSUMMARY:Alex Morgan\r\nDTSTART:%s\r\nDURATION:PT20M\r\nRRULE:%s\r\n%sEND:VEVENT\r\n", i, dtstart, rule, extra)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func numbers(from, to int) string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprint(i))
	}
	return strings.Join(s, ",")
}

// TestParseICalRecurrenceRefused: files whose recurrences amplify (a few KB that expand to
// millions of instances, or rules that take years of work to expand) are refused with the
// series named, having allocated little. Before, the first file took 3.2 GB and 10 s.
func TestParseICalRecurrenceRefused(t *testing.T) {
	const nov23 = "20261123T090000Z"
	long := ICalOptions{From: window.From, To: window.From.AddDate(0, 0, 400)}
	var rdates []string
	for i := range maxSeriesInstances + 1 {
		rdates = append(rdates, window.From.Add(time.Duration(i)*time.Minute).Format("20060102T150405Z"))
	}
	var tooDenseTZ strings.Builder
	tooDenseTZ.WriteString("BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Trust Local Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T020000\r\n" +
		"RRULE:FREQ=YEARLY;BYMONTH=" + numbers(1, 12) + ";BYMONTHDAY=" + numbers(1, 31) + "\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
		"BEGIN:VEVENT\r\nUID:tz\r\nSUMMARY:Alex Morgan\r\nDTSTART;TZID=Trust Local Time:20261123T090000\r\nDURATION:PT20M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	tests := []struct {
		name  string
		cal   []byte
		opt   ICalOptions
		line  int
		want  []string // in the message
		maxMB float64
	}{
		{"40 hourly events, every minute (the issue's file)", recurringCal(40, nov23, "FREQ=HOURLY;BYMINUTE="+numbers(0, 59), ""), window,
			7, []string{`UID "amp-0" (Alex Morgan)`, "more than 10000 instances in the import window"}, 8},
		{"every second of three hours a day", recurringCal(1, nov23, "FREQ=DAILY;BYHOUR=9,10,11;BYMINUTE="+numbers(0, 59)+";BYSECOND="+numbers(0, 59), ""), window,
			7, []string{`UID "amp-0"`, "starts 10800 times a day"}, 1},
		{"FREQ=SECONDLY", recurringCal(1, nov23, "FREQ=SECONDLY", ""), window,
			7, []string{`UID "amp-0"`, "every second or minute"}, 1},
		{"FREQ=MINUTELY with BYSECOND", recurringCal(1, nov23, "FREQ=MINUTELY;BYSECOND="+numbers(0, 59), ""), window,
			7, []string{"every second or minute"}, 1},
		{"a huge COUNT every 20 minutes over 400 days", recurringCal(1, nov23, "FREQ=HOURLY;BYMINUTE=0,20,40;COUNT=2000000000", ""), long,
			7, []string{`UID "amp-0"`, "more than 10000 instances"}, 8},
		{"hourly from 1601 with a huge COUNT", recurringCal(3, "16010101T090000Z", "FREQ=HOURLY;BYMINUTE=0,30;COUNT=2000000000", ""), window,
			14, []string{`UID "amp-1"`, "more than 10000000 steps", "move DTSTART nearer the window"}, 4},
		{"rules that never match, with COUNT, from 1601", recurringCal(200, "16010101T090000Z", "FREQ=DAILY;COUNT=5;BYMONTH=2;BYMONTHDAY=30", ""), window,
			7 + 7*32, []string{`UID "amp-32"`, "more than 10000000 steps"}, 2},
		{"30 series each under the bound, over 20,000 together", recurringCal(30, nov23, "FREQ=HOURLY;BYHOUR="+numbers(8, 17)+";BYMINUTE=0,20,40", ""), window,
			7 + 7*17, []string{`UID "amp-17" (Alex Morgan)`, "past 20000 appointments", "narrow the window"}, 40},
		{"30 series without an end, over 20,000 skipped together", []byte(strings.ReplaceAll(string(recurringCal(30, nov23, "FREQ=HOURLY", "")), "DURATION:PT20M\r\n", "")), window,
			6 + 6*21, []string{`UID "amp-21"`, "past 20000 events that cannot be imported", "no DTEND or DURATION"}, 40},
		{"an RDATE list past the series bound", recurringCal(1, nov23, "FREQ=YEARLY", "RDATE:"+strings.Join(rdates, ",")+"\r\n"), window,
			8, []string{`RDATE of UID "amp-0"`, "more than 10000 instances"}, 8},
		{"an RRULE of 2,000 characters", recurringCal(1, nov23, "FREQ=DAILY;BYMINUTE="+strings.Repeat("0,", 999)+"0", ""), window,
			7, []string{`UID "amp-0"`, "characters long"}, 1},
		{"a time zone that changes every day", []byte(tooDenseTZ.String()), window,
			6, []string{"changes the time zone's offset more than 12 times"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			mb := allocated(func() { _, err = ParseICal(tt.cal, tt.opt) })
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Line != tt.line {
				t.Errorf("got line %d, want %d: %v", e.Line, tt.line, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Msg, w) {
					t.Errorf("got %q, want it to contain %q", e.Msg, w)
				}
			}
			if mb > tt.maxMB {
				t.Errorf("refusing a %d-byte file allocated %.1f MB, want at most %.0f MB", len(tt.cal), mb, tt.maxMB)
			}
		})
	}
}

// TestParseICalRecurrenceBounded: rules that rrule-go expanded for seconds (searching to
// the year 9999 for an instance), for ever (an INTERVAL that never reaches BYHOUR) or into
// gigabytes (repeated BY values) are expanded over the window only.
func TestParseICalRecurrenceBounded(t *testing.T) {
	const nov23 = "20261123T090000Z"
	var exdates []string
	for i := range 200000 {
		exdates = append(exdates, window.From.Add(time.Duration(i)*time.Minute).Format("20060102T150405Z"))
	}
	tests := []struct {
		name    string
		cal     []byte
		entries int
		maxMB   float64
	}{
		{"BYSETPOS past an hour's one instance", recurringCal(1, nov23, "FREQ=HOURLY;BYSETPOS=2", ""), 1, 1},
		{"an INTERVAL that never reaches BYHOUR", recurringCal(1, "20261123T080000Z", "FREQ=HOURLY;INTERVAL=2;BYHOUR=9", ""), 1, 1},
		{"a thousand rules that never match", recurringCal(1000, nov23, "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", ""), 1000, 8},
		{"repeated BY values", recurringCal(1, nov23, "FREQ=DAILY;BYHOUR="+strings.Repeat("9,", 150)+"9;BYMINUTE="+strings.Repeat("0,", 150)+"0;BYSECOND="+strings.Repeat("0,", 150)+"0", ""), 39, 1},
		{"a huge COUNT", recurringCal(1, nov23, "FREQ=DAILY;COUNT=2000000000", ""), 39, 1},
		{"200,000 EXDATEs", recurringCal(1, nov23, "FREQ=DAILY", "EXDATE:"+strings.Join(exdates, ",")+"\r\n"), 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b *Batch
			var err error
			mb := allocated(func() { b, err = ParseICal(tt.cal, window) })
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Entries) != tt.entries {
				t.Errorf("got %d entries, want %d", len(b.Entries), tt.entries)
			}
			if mb > tt.maxMB {
				t.Errorf("a %d-byte file allocated %.1f MB, want at most %.0f MB", len(tt.cal), mb, tt.maxMB)
			}
		})
	}
}

// TestParseICalUnreadLinesCostNothing: lines the import does not read are checked and
// dropped, not kept (8 MiB of them took 348 MB before).
func TestParseICalUnreadLinesCostNothing(t *testing.T) {
	var s strings.Builder
	s.WriteString("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:Alex Morgan\r\nDTSTART:20261123T090000Z\r\nDURATION:PT20M\r\n")
	for s.Len() < 8<<20 {
		s.WriteString("X-A:\r\nBEGIN:VALARM\r\nEND:VALARM\r\n")
	}
	s.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	cal := []byte(s.String())
	var err error
	if mb := allocated(func() { _, err = ParseICal(cal, window) }); mb > 2.5*float64(len(cal))/1e6 {
		t.Errorf("an %.1f MB file allocated %.1f MB, want little more than a copy", float64(len(cal))/1e6, mb)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// appointmentJSON is a small booked Appointment.
func appointmentJSON(i int) string {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 30 * time.Minute)
	return fmt.Sprintf(`{"resource":{"resourceType":"Appointment","id":"a%d","status":"booked","start":%q,"end":%q,"participant":[{"actor":{"reference":"Patient/p","display":"Alex Morgan"}}]}}`,
		i, start.Format(time.RFC3339), start.Add(20*time.Minute).Format(time.RFC3339))
}

func bundleOf(entries []string) []byte {
	return []byte(`{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Join(entries, ",\n") + "]}")
}

// TestParseFHIRBounded: Bundles over the limits are refused at the entry that passes them,
// with its path, having decoded no more than that; resources are never copied whole.
func TestParseFHIRBounded(t *testing.T) {
	var appts, tiny []string
	for i := range MaxEntries + 1 {
		appts = append(appts, appointmentJSON(i))
	}
	for range maxBundleResources + 1 {
		tiny = append(tiny, `{"resource":{"resourceType":"Basic"}}`)
	}
	photo := `{"resource":{"resourceType":"Patient","id":"p","photo":[{"data":"` + strings.Repeat("A", 2<<20) + `"}]}}`
	crowd := `{"resourceType":"Appointment","id":"x","status":"booked","start":"2026-11-23T09:30:00Z","end":"2026-11-23T09:50:00Z","participant":[` +
		strings.Repeat("{},", 4<<20) + `{"actor":{"display":"Alex Morgan","type":"Patient"}}]}`
	tests := []struct {
		name, doc, path, msg string
		maxMB                float64
	}{
		{"20,001 Appointments", string(bundleOf(appts)), "entry[20000]", "Appointment number 20001", 40},
		{"41,001 resources", string(bundleOf(tiny)), "entry", "more than 41000 resources", 40},
		{"a resource over 1 MiB", string(bundleOf([]string{appointmentJSON(0), photo})), "entry[1].resource", "bytes of JSON", 1},
		{"an Appointment of 12 MiB", crowd, "", "bytes of JSON", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.doc)
			var err error
			mb := allocated(func() { _, err = ParseFHIR(data) })
			var e *Error
			if !errors.As(err, &e) || e.Path != tt.path || !strings.Contains(e.Msg, tt.msg) {
				t.Fatalf("got %v, want an *Error at %q containing %q", err, tt.path, tt.msg)
			}
			if mb > tt.maxMB {
				t.Errorf("refusing a %.1f MB file allocated %.1f MB, want at most %.0f MB", float64(len(data))/1e6, mb, tt.maxMB)
			}
		})
	}
}

// TestParseFHIRKeepsLittle: an Appointment with many participants (under 1 MiB) keeps only
// those it reads, and the result is as before.
func TestParseFHIRKeepsLittle(t *testing.T) {
	doc := `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Appointment","id":"x","status":"booked","start":"2026-11-23T09:30:00Z","end":"2026-11-23T09:50:00Z","participant":[` +
		strings.Repeat(`{"actor":{"reference":"Practitioner/dr"}},`, 20000) +
		`{"actor":{"reference":"Patient/p"}},{"actor":{"reference":"Location/L1","display":"booth-1"}}]}},
		{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p","name":[{"use":"official","given":["Alex"],"family":"Morgan"}]}}]}`
	b, err := ParseFHIR([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, b.Entries, []brief{{"fhir:Appointment/x", "Alex Morgan", "2026-11-23T09:30:00Z", "2026-11-23T09:50:00Z", []string{"L1", "booth-1"}, "", false}})
	// A bad participant after thousands names its place in the array.
	bad := strings.Replace(doc, `{"actor":{"reference":"Patient/p"}}`, `{"actor":{"reference":"Patient/nobody"}}`, 1)
	_, err = ParseFHIR([]byte(bad))
	var e *Error
	if !errors.As(err, &e) || e.Path != "entry[0].resource.participant[20000].actor.display" {
		t.Errorf("got %v, want an *Error at entry[0].resource.participant[20000].actor.display", err)
	}
}
