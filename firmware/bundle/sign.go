package bundle

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// Sign writes a bundle of every regular file in files to w, signed with key, and returns
// the manifest it signed. m gives the version, target and creation time; Sign fills in the
// format and the files (walked in lexical order, so the same input gives the same bundle).
// A symlink, device or other non-regular file in files is refused with ErrPath. Wrap w in
// a gzip.Writer for a compressed bundle.
func Sign(w io.Writer, files fs.FS, m Manifest, key ed25519.PrivateKey) (Manifest, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Manifest{}, fmt.Errorf("sign: the private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	m.Format = FormatVersion
	m.Files = nil
	if m.Created.IsZero() {
		return Manifest{}, fmt.Errorf("sign: the manifest has no creation time")
	}
	m.Created = m.Created.UTC()
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%w: %q is not a regular file (%v); bundles hold regular files only", ErrPath, p, d.Type())
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum, n, err := hashFile(files, p)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Path: p, Size: n, SHA256: sum, Mode: fmt.Sprintf("%04o", info.Mode().Perm())})
		return nil
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("sign: %w", err)
	}
	if err := m.Validate(0); err != nil {
		return Manifest{}, fmt.Errorf("sign: %w", err)
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("sign: %w", err)
	}
	raw = append(raw, '\n')
	sig := ed25519.Sign(key, raw)

	tw := tar.NewWriter(w)
	if err := writeEntry(tw, ManifestName, 0o644, m.Created, raw); err != nil {
		return Manifest{}, err
	}
	if err := writeEntry(tw, SignatureName, 0o644, m.Created, sig); err != nil {
		return Manifest{}, err
	}
	for _, f := range m.Files {
		if err := copyEntry(tw, files, f, m.Created); err != nil {
			return Manifest{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Manifest{}, fmt.Errorf("sign: finish the archive: %w", err)
	}
	return m, nil
}

func hashFile(files fs.FS, p string) (string, int64, error) {
	r, err := files.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func header(name string, mode int64, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size, ModTime: mtime, Format: tar.FormatPAX}
}

func writeEntry(tw *tar.Writer, name string, mode int64, mtime time.Time, data []byte) error {
	if err := tw.WriteHeader(header(name, mode, int64(len(data)), mtime)); err != nil {
		return fmt.Errorf("sign: write %s: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("sign: write %s: %w", name, err)
	}
	return nil
}

// copyEntry writes f's content, re-hashed on the way, so that a file changed since the
// manifest was made fails the signing rather than producing a bundle no device accepts.
func copyEntry(tw *tar.Writer, files fs.FS, f File, mtime time.Time) error {
	r, err := files.Open(f.Path)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	defer r.Close()
	if err := tw.WriteHeader(header(f.Path, int64(f.Perm()), f.Size, mtime)); err != nil {
		return fmt.Errorf("sign: write %s: %w", f.Path, err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), r); err != nil {
		return fmt.Errorf("sign: %s changed while signing (or could not be read): %w", f.Path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		return fmt.Errorf("sign: %s changed while signing; sign again", f.Path)
	}
	return nil
}
