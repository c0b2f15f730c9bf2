package bundle

import (
	"encoding/json"
	"io/fs"
	"reflect"
	"testing"
)

// FuzzManifest checks that no manifest makes ParseManifest panic, that what it accepts
// names only safe paths within the limits, and that an accepted manifest survives
// marshalling and parsing again unchanged.
func FuzzManifest(f *testing.F) {
	f.Add(signedManifest(f, signed(f, "1.3.0")))
	f.Add([]byte(`{"format":1,"version":"1.0.0-rc.1","target":{"platform":"linux/arm64","board":""},"created":"2026-01-01T00:00:00Z","files":[{"path":"a","size":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","mode":"644"}]}`))
	f.Add([]byte(`{"format":1,"version":"1.0.0","target":{"platform":"linux/arm64"},"created":"2026-01-01T00:00:00Z","files":[{"path":"../x","size":1,"sha256":"00","mode":"0755"}],"extra":1}`))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data, 1<<20)
		if err != nil {
			return
		}
		var total int64
		for _, file := range m.Files {
			if err := checkPath(file.Path); err != nil {
				t.Errorf("accepted an unsafe path: %v", err)
			}
			if file.Perm()&^fs.ModePerm != 0 {
				t.Errorf("accepted mode %q: got bits beyond 0777", file.Mode)
			}
			total += file.Size
		}
		if total > 1<<20 || len(m.Files) > MaxFiles {
			t.Errorf("accepted %d files of %d bytes, over the limits", len(m.Files), total)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal an accepted manifest: %v", err)
		}
		m2, err := ParseManifest(again, 1<<20)
		if err != nil {
			t.Fatalf("re-parse an accepted manifest: got %v, want nil (%s)", err, again)
		}
		if !m2.Created.Equal(m.Created) {
			t.Errorf("created: got %v, want %v", m2.Created, m.Created)
		}
		m2.Created = m.Created
		if !reflect.DeepEqual(m, m2) {
			t.Errorf("round trip: got %+v, want %+v", m2, m)
		}
	})
}
