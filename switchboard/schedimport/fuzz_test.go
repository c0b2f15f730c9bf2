package schedimport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebooth/carebooth/switchboard/store"
)

// addSeeds adds every testdata file with the extension as a seed.
func addSeeds(f *testing.F, ext string) {
	names, err := filepath.Glob(filepath.Join("testdata", "*"+ext))
	if err != nil || len(names) == 0 {
		f.Fatalf("no %s seeds in testdata: %v", ext, err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkBatch asserts what every successful parse promises.
func checkBatch(t *testing.T, b *Batch, err error) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("got %T %v, want an *Error", err, err)
		}
		if e.Line <= 0 && e.Path == "" && !strings.Contains(e.Msg, "JSON") {
			t.Fatalf("error %q names no line or path", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, e := range b.Entries {
		if e.ExternalID == "" || seen[e.ExternalID] {
			t.Fatalf("entry %+v: empty or repeated external ID", e)
		}
		seen[e.ExternalID] = true
		if why := checkTimes(e.Start, e.End); why != "" {
			t.Fatalf("entry %s: %s", e.ExternalID, why)
		}
		if !e.Cancelled {
			if n, why := cleanName(e.Patient); why != "" || n != e.Patient {
				t.Fatalf("entry %s: patient %q: %s", e.ExternalID, e.Patient, why)
			}
		}
	}
	// Whatever parses must plan without panicking.
	dev := []store.Device{{ID: "d1", Name: "booth", ClinicID: "c"}}
	Plan(b, dev, nil, Options{ClinicID: "c", DefaultDevice: "d1"}) //nolint:errcheck
}

func FuzzFHIR(f *testing.F) {
	addSeeds(f, ".json")
	f.Add([]byte(`{"resourceType":"Bundle","entry":[` + appointmentJSON(1)[:len(appointmentJSON(1))-3] +
		`,{"actor":{"reference":"urn:uuid:d","type":"Device"}},{},{"actor":{}}]}},` +
		`{"fullUrl":"urn:uuid:d","resource":{"resourceType":"Device","id":"d","identifier":[{"value":"booth-1"}],"deviceName":[{"name":"b\u0031"}]}},` +
		`{"resource":{"resourceType":"Basic"}}, null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseFHIR(data)
		checkBatch(t, b, err)
	})
}

// recurrenceSeeds are calendars whose rules amplify or search far, so that the fuzzer
// starts from what the bounds must keep cheap.
func recurrenceSeeds() [][]byte {
	const nov23 = "20261123T090000Z"
	rdates := "RDATE:20261124T100000Z,20261125T100000,20261201\r\nEXDATE:20261123T090000Z,20261124T090000Z\r\n"
	return [][]byte{
		recurringCal(2, nov23, "FREQ=HOURLY;BYMINUTE="+numbers(0, 59), ""),
		recurringCal(1, "20261123T080000Z", "FREQ=HOURLY;INTERVAL=2;BYHOUR=9", ""),
		recurringCal(1, nov23, "FREQ=HOURLY;BYSETPOS=2,-1;BYMINUTE=0,30", ""),
		recurringCal(1, nov23, "FREQ=YEARLY;BYWEEKNO=1,53,-1;BYDAY=MO,-1SU;BYSETPOS=1,-1;BYMONTH=1,12;WKST=SU", ""),
		recurringCal(1, nov23, "FREQ=MONTHLY;BYDAY=-5MO,5FR,2TU;BYMONTHDAY=-1,31,15;COUNT=30", rdates),
		recurringCal(1, nov23, "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYYEARDAY=-366,60", ""),
		recurringCal(1, "16010101T090000Z", "FREQ=WEEKLY;INTERVAL=3;COUNT=20000;BYDAY=MO,FR;UNTIL=20270101", ""),
		recurringCal(3, nov23, "FREQ=DAILY;BYHOUR=9,9,10;BYMINUTE=0,30,0;BYSECOND=0,59;UNTIL=20261201T000000Z", rdates),
		[]byte("BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:T\r\nBEGIN:STANDARD\r\nDTSTART:16011028T030000\r\n" +
			"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;COUNT=2000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\n" +
			"BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;UNTIL=29991231T000000Z\r\n" +
			"TZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:A B\r\n" +
			"DTSTART;TZID=T:20261123T090000\r\nDURATION:PT20M\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n" +
			"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID;TZID=T:20261125T090000\r\nDTSTART:20261125T120000Z\r\nDURATION:PT20M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
	}
}

func FuzzICal(f *testing.F) {
	addSeeds(f, ".ics")
	for _, s := range recurrenceSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseICal(data, window)
		checkBatch(t, b, err)
	})
}
