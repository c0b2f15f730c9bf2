package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// FormatVersion is the bundle format this build writes and reads.
const FormatVersion = 1

// Limits on what a manifest may declare, whatever the policy says.
const (
	MaxManifestBytes = 1 << 20
	MaxFiles         = 4096
	MaxPathBytes     = 1024
	// DefaultMaxSize bounds a bundle, each file and the total when Policy.MaxSize is 0.
	DefaultMaxSize = 1 << 30
)

// Entry names of the two leading archive entries.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// Manifest describes a bundle: what it is, what it is for, and every file in it.
type Manifest struct {
	Format  int       `json:"format"`
	Version string    `json:"version"`
	Target  Target    `json:"target"`
	Created time.Time `json:"created"`
	Files   []File    `json:"files"`
}

// Target is what a bundle is built for; a device installs only its own.
type Target struct {
	Platform string `json:"platform"` // GOOS/GOARCH, e.g. "linux/arm64"
	Board    string `json:"board"`    // e.g. "rpi4"; "" only for development targets
}

func (t Target) String() string {
	if t.Board == "" {
		return t.Platform
	}
	return t.Platform + " (" + t.Board + ")"
}

// File is one file of a bundle.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
	Mode   string `json:"mode"`   // three octal digits, e.g. "0644" or "755"
}

// Perm returns the file's permission bits; the manifest must be valid.
func (f File) Perm() fs.FileMode {
	n, _ := strconv.ParseUint(f.Mode, 8, 32)
	return fs.FileMode(n) & fs.ModePerm
}

// ParseManifest parses and validates a manifest strictly: unknown fields, trailing data,
// another format version and every limit are refused. maxSize bounds each file and the
// total (0 for DefaultMaxSize). It does not check a signature: Extract calls it only on
// signed bytes.
func ParseManifest(data []byte, maxSize int64) (Manifest, error) {
	if len(data) > MaxManifestBytes {
		return Manifest{}, fmt.Errorf("%w: %s is %d bytes, over the limit of %d", ErrTooLarge, ManifestName, len(data), MaxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %s: %v", ErrFormat, ManifestName, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Manifest{}, fmt.Errorf("%w: %s: data after the JSON object", ErrFormat, ManifestName)
	}
	if err := m.Validate(maxSize); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Validate checks everything a manifest says on its own (not against a device).
func (m Manifest) Validate(maxSize int64) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if m.Format != FormatVersion {
		return fmt.Errorf("%w: %s: format %d, this build reads format %d; update the device's firmware tools first", ErrFormat, ManifestName, m.Format, FormatVersion)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, ManifestName, err)
	}
	if p := m.Target.Platform; p == "" || strings.Count(p, "/") != 1 || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("%w: %s: target platform %q: want GOOS/GOARCH such as \"linux/arm64\"", ErrFormat, ManifestName, p)
	}
	if len(m.Files) == 0 {
		return fmt.Errorf("%w: %s lists no files", ErrFormat, ManifestName)
	}
	if len(m.Files) > MaxFiles {
		return fmt.Errorf("%w: %s lists %d files, over the limit of %d", ErrTooLarge, ManifestName, len(m.Files), MaxFiles)
	}
	seen := make(map[string]bool, len(m.Files))
	var total int64
	for _, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("%w: %q is listed twice", ErrPath, f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 {
			return fmt.Errorf("%w: %s: %q has size %d", ErrFormat, ManifestName, f.Path, f.Size)
		}
		if f.Size > maxSize || total+f.Size > maxSize {
			return fmt.Errorf("%w: %q (%d bytes) takes the bundle's content over the limit of %d bytes", ErrTooLarge, f.Path, f.Size, maxSize)
		}
		total += f.Size
		if len(f.SHA256) != 2*32 || strings.ToLower(f.SHA256) != f.SHA256 {
			return fmt.Errorf("%w: %s: %q: sha256 %q is not 64 lower-case hex digits", ErrFormat, ManifestName, f.Path, f.SHA256)
		}
		if _, err := hex.DecodeString(f.SHA256); err != nil {
			return fmt.Errorf("%w: %s: %q: sha256 %q is not hex", ErrFormat, ManifestName, f.Path, f.SHA256)
		}
		if err := checkMode(f.Mode); err != nil {
			return fmt.Errorf("%w: %s: %q: %v", ErrFormat, ManifestName, f.Path, err)
		}
	}
	// A file may not also be a directory of another ("bin" and "bin/boothd").
	for p := range seen {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if seen[d] {
				return fmt.Errorf("%w: %q is a file and also the directory of %q", ErrPath, d, p)
			}
		}
	}
	return nil
}

// checkPath refuses any path that is not a plain relative name inside the bundle's root.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: an empty path", ErrPath)
	case len(p) > MaxPathBytes:
		return fmt.Errorf("%w: a path of %d bytes, over the limit of %d", ErrPath, len(p), MaxPathBytes)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: %q is absolute; paths are relative to the slot", ErrPath, p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%w: %q contains a backslash or NUL", ErrPath, p)
	case path.Clean(p) != p:
		return fmt.Errorf("%w: %q is not clean (it would be %q)", ErrPath, p, path.Clean(p))
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || el == "." {
			return fmt.Errorf("%w: %q has a %q element and could escape the slot", ErrPath, p, el)
		}
	}
	if p == ManifestName || p == SignatureName {
		return fmt.Errorf("%w: %q is the name of the bundle's own entry", ErrPath, p)
	}
	return nil
}

func checkMode(s string) error {
	if len(s) < 3 || len(s) > 4 || (len(s) == 4 && s[0] != '0') {
		return fmt.Errorf("mode %q: want three octal digits such as \"0644\"", s)
	}
	if _, err := strconv.ParseUint(s, 8, 32); err != nil {
		return fmt.Errorf("mode %q: want three octal digits such as \"0644\"", s)
	}
	return nil
}
