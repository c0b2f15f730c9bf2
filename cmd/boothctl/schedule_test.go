package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

const pasBundle = `{"resourceType": "Bundle", "type": "searchset", "entry": [
  {"resource": {"resourceType": "Appointment", "id": "apt-1", "status": "booked",
    "start": "2026-11-23T09:30:00+00:00", "end": "2026-11-23T09:50:00+00:00",
    "participant": [{"actor": {"reference": "Patient/p1", "display": "Alex Morgan"}},
                    {"actor": {"reference": "Location/l1", "display": "library-booth-1"}}]}},
  {"resource": {"resourceType": "Appointment", "id": "apt-2", "status": "booked",
    "start": "2026-11-23T10:00:00Z", "minutesDuration": 15,
    "participant": [{"actor": {"reference": "Patient/p2", "display": "Sam Jones"}},
                    {"actor": {"reference": "Location/l1", "display": "library-booth-1"}}]}}
]}`

func TestBoothctlImportAndReport(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	dir, boothctl := withSwitchboard(t, clock)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if out, err := boothctl("admin password 1\n", "login"); err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	idRE := regexp.MustCompile(`created: (\S+)`)
	out, err := boothctl("", "clinics", "add", "-name", "Riverside")
	if err != nil {
		t.Fatal(err)
	}
	clinic := idRE.FindStringSubmatch(out)[1]
	if _, err := boothctl("", "devices", "add", "-name", "library-booth-1", "-clinic", clinic); err != nil {
		t.Fatal(err)
	}
	file := write("pas.json", pasBundle)

	out, err = boothctl("", "appointments", "import", "-dry-run", "-clinic", clinic, file)
	if err != nil || !strings.Contains(out, "dry run, nothing changed") || !strings.Contains(out, "2 new") || !strings.Contains(out, "Alex Morgan") {
		t.Fatalf("dry run: got %q, %v", out, err)
	}
	list := func() string {
		out, err := boothctl("", "appointments", "list", "-clinic", clinic, "-from", "2026-11-23T00:00:00Z", "-to", "2026-11-24T00:00:00Z")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if strings.Contains(list(), "Alex Morgan") {
		t.Fatal("a dry run booked appointments")
	}
	if out, err = boothctl("", "appointments", "import", "-clinic", clinic, file); err != nil || !strings.Contains(out, "imported 2 new") {
		t.Fatalf("import: got %q, %v", out, err)
	}
	if out, err = boothctl("", "appointments", "import", "-q", "-clinic", clinic, file); err != nil || !strings.Contains(out, "0 new, 0 updated, 0 cancelled, 2 unchanged") {
		t.Fatalf("re-import: got %q, %v", out, err)
	}
	if l := list(); strings.Count(l, "Alex Morgan") != 1 || strings.Count(l, "Sam Jones") != 1 {
		t.Errorf("after importing twice: got %q, want each appointment once", l)
	}

	bad := write("bad.json", strings.Replace(pasBundle, `"2026-11-23T10:00:00Z"`, `"23/11/2026 10:00"`, 1))
	if _, err := boothctl("", "appointments", "import", "-clinic", clinic, bad); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "entry[1].resource.start") {
		t.Errorf("malformed FHIR: got %v, want an error naming the file and entry[1].resource.start", err)
	}
	badICS := write("room.ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nSUMMARY:Kim\nDTSTART:tomorrow\nEND:VEVENT\nEND:VCALENDAR\n")
	if _, err := boothctl("", "appointments", "import", "-clinic", clinic, badICS); err == nil || !strings.Contains(err.Error(), "room.ics") || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("malformed iCalendar: got %v, want an error naming the file and line 5", err)
	}
	if _, err := boothctl("", "appointments", "import", "-clinic", clinic); err == nil {
		t.Error("import without a file: got nil error")
	}

	out, err = boothctl("", "report", "-clinic", clinic, "-from", "2026-11-01", "-to", "2026-12-01")
	if err != nil || !strings.Contains(out, "Riverside") || !strings.Contains(out, "library-booth-1") || !strings.Contains(out, "note: mean_bitrate_kbps") {
		t.Fatalf("report: got %q, %v", out, err)
	}
	csvFile := filepath.Join(dir, "nov.csv")
	if out, err = boothctl("", "report", "-clinic", clinic, "-from", "2026-11-01", "-to", "2026-12-01", "-csv", "-o", csvFile); err != nil {
		t.Fatalf("report -csv: %v %s", err, out)
	}
	b, err := os.ReadFile(csvFile)
	if err != nil || !strings.HasPrefix(string(b), "level,clinic_id,clinic_name,") || !strings.Contains(string(b), "\r\nclinic,"+clinic+",Riverside,,,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,2,") {
		t.Errorf("CSV file: got %q, %v", b, err)
	}
	if _, err := boothctl("", "report", "-from", "last week"); err == nil || !strings.Contains(err.Error(), "-from") {
		t.Errorf("bad -from: got %v, want an error naming -from", err)
	}
}
