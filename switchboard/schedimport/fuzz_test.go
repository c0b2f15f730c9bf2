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
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseFHIR(data)
		checkBatch(t, b, err)
	})
}

func FuzzICal(f *testing.F) {
	addSeeds(f, ".ics")
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseICal(data, window)
		checkBatch(t, b, err)
	})
}
