package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		old  []byte // nil: no file before
		perm fs.FileMode
	}{
		{"new private file", nil, 0o600},
		{"replaces a file", []byte("old content that is longer"), 0o600},
		{"mode is explicit, not the old file's", []byte("old"), 0o640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token")
			if tt.old != nil {
				if err := os.WriteFile(path, tt.old, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			old := syscall.Umask(0o077) // a strict umask must not narrow the mode asked for
			err := Write(path, []byte("new\n"), tt.perm)
			syscall.Umask(old)
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != "new\n" {
				t.Errorf("content: got %q, %v, want %q", got, err, "new\n")
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != tt.perm {
				t.Errorf("mode: got %v, %v, want %v", fi.Mode().Perm(), err, tt.perm)
			}
			assertOnly(t, dir, "token")
		})
	}
}

// A write that cannot be renamed into place (the target is a directory) leaves the target
// as it was and no temporary file.
func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "inside"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("x"), 0o600); err == nil {
		t.Fatal("got nil error, want the rename's")
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("target after failure: got %v, %v, want the directory untouched", fi, err)
	}
	assertOnly(t, dir, "token")
}

func TestWriteMissingDir(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "no", "such"), []byte("x"), 0o600); err == nil {
		t.Error("got nil error, want one for a missing directory")
	}
}

func assertOnly(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only %s", names, name)
	}
}
