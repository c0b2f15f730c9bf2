package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/carebooth/carebooth/firmware/version"
)

// Policy is what a device accepts.
type Policy struct {
	// Target is the device's own; a bundle for any other is refused.
	Target Target
	// Running is the running firmware's version (firmware/version.String()). A bundle
	// not newer than it is refused unless AllowDowngrade; so is any bundle when Running
	// is not a release version (a "dev" build), since newer cannot be told.
	Running        string
	AllowDowngrade bool
	// MaxSize bounds the bundle as downloaded, each file and the total content; 0 means
	// DefaultMaxSize.
	MaxSize int64
	// AnyTarget skips the target and version checks: the switchboard's policy, which
	// serves devices of every target and version and checks everything else.
	AnyTarget bool
}

// DevicePolicy is the policy of a device of target running this build: Running is
// firmware/version's, no downgrades, the default size limit.
func DevicePolicy(target Target) Policy {
	return Policy{Target: target, Running: version.String()}
}

// Staged is a bundle checked and unpacked into Dir: every file the manifest lists, with
// its mode, and nothing else.
type Staged struct {
	Dir          string
	Manifest     Manifest
	ManifestJSON []byte // the signed bytes, kept so an installed slot can be audited
	Signature    []byte
}

// Extract checks the bundle read from r (size bytes, as downloaded) against the trusted
// keys and the policy and unpacks it into dir, which is created if missing and must be
// empty. The signature is checked before anything in the manifest is believed, and every
// file's size and SHA-256 as it is unpacked; on any error dir is left empty.
func Extract(dir string, r io.Reader, size int64, keys []ed25519.PublicKey, p Policy) (_ *Staged, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle: staging directory: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: staging directory: %w", err)
	}
	if len(ents) > 0 {
		return nil, fmt.Errorf("bundle: staging directory %s is not empty; remove what is in it first", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: staging directory: %w", err)
	}
	defer root.Close()
	defer func() {
		if err != nil {
			emptyDir(dir)
		}
	}()
	st, err := read(r, size, keys, p, func(f File) (io.WriteCloser, error) { return createIn(root, f) })
	if err != nil {
		return nil, err
	}
	st.Dir = dir
	return st, nil
}

// Verify checks the bundle read from r as Extract does, writing nothing.
func Verify(r io.Reader, size int64, keys []ed25519.PublicKey, p Policy) (Manifest, error) {
	st, err := read(r, size, keys, p, nil)
	if err != nil {
		return Manifest{}, err
	}
	return st.Manifest, nil
}

func createIn(root *os.Root, f File) (io.WriteCloser, error) {
	if d := path.Dir(f.Path); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("%w: create the directory of %q: %v", ErrPath, f.Path, err)
		}
	}
	w, err := root.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: create %q: %v", ErrPath, f.Path, err)
	}
	if err := w.Chmod(f.Perm()); err != nil {
		w.Close()
		return nil, fmt.Errorf("bundle: %s: %w", f.Path, err)
	}
	return w, nil
}

func emptyDir(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(dir + string(os.PathSeparator) + e.Name())
	}
}

// read is Extract and Verify; create, when not nil, gives where each file's bytes go.
func read(r io.Reader, size int64, keys []ed25519.PublicKey, p Policy, create func(File) (io.WriteCloser, error)) (*Staged, error) {
	maxSize := p.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if size < 0 {
		return nil, fmt.Errorf("bundle: the size must be known (got %d)", size)
	}
	if size > maxSize {
		return nil, fmt.Errorf("bundle: %w: %d bytes, over the limit of %d; publish a smaller bundle or raise the device's limit", ErrTooLarge, size, maxSize)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("bundle: %w: the device trusts no keys; add the release public key to its trust file", ErrSignature)
	}
	lr := &sizedReader{r: r, size: size}
	fail := func(what string, err error) error { return lr.classify(what, err) }

	br := bufio.NewReader(lr)
	var src io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fail("gzip header", err)
		}
		gz.Multistream(false)
		src = gz
	}
	tr := tar.NewReader(src)

	raw, err := readSmall(tr, ManifestName, MaxManifestBytes, fail)
	if err != nil {
		return nil, err
	}
	sig, err := readSmall(tr, SignatureName, ed25519.SignatureSize, fail)
	if err != nil {
		return nil, err
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("bundle: %w: %s is %d bytes, want %d", ErrSignature, SignatureName, len(sig), ed25519.SignatureSize)
	}
	if !signedByAny(keys, raw, sig) {
		return nil, fmt.Errorf("bundle: %w: the manifest is signed by none of the %d trusted keys (tampered, or signed with another key); sign it with the release key or add that key's public half to the device's trust file", ErrSignature, len(keys))
	}
	// From here the manifest is the signer's word.
	m, err := ParseManifest(raw, maxSize)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if err := p.check(m); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", m.Version, err)
	}
	for i, f := range m.Files {
		if err := readFile(tr, i, f, create, fail); err != nil {
			return nil, err
		}
	}
	switch hdr, err := tr.Next(); {
	case err == nil:
		return nil, fmt.Errorf("bundle: %w: entry %q after the last listed file; the manifest must list every file", ErrFormat, hdr.Name)
	case err != io.EOF:
		return nil, fail("end of archive", err)
	}
	// Whatever padding follows the archive is read, so a download cut short is noticed
	// even when the cut falls in it.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fail("end of bundle", err)
	}
	if lr.n < size {
		return nil, fmt.Errorf("bundle: %w: ended after %d of %d bytes; resume or restart the download", ErrTruncated, lr.n, size)
	}
	return &Staged{Manifest: m, ManifestJSON: raw, Signature: sig}, nil
}

func (p Policy) check(m Manifest) error {
	if p.AnyTarget {
		return nil
	}
	if p.Target.Platform == "" {
		return fmt.Errorf("%w: the device's policy names no target", ErrTarget)
	}
	if m.Target != p.Target {
		return fmt.Errorf("%w: built for %s, this device is %s; publish the bundle built for %s", ErrTarget, m.Target, p.Target, p.Target)
	}
	if p.AllowDowngrade {
		return nil
	}
	next, _ := ParseVersion(m.Version) // valid: ParseManifest checked it
	running, err := ParseVersion(p.Running)
	if err != nil {
		return fmt.Errorf("%w: the running version %q is not a release version, so %s cannot be shown to be newer; allow downgrades to install it", ErrDowngrade, p.Running, m.Version)
	}
	if next.Compare(running) <= 0 {
		return fmt.Errorf("%w: %s is not newer than the running %s; allow downgrades to install it", ErrDowngrade, m.Version, running)
	}
	return nil
}

func signedByAny(keys []ed25519.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}

// readSmall reads the entry that must come next, named name, of at most limit bytes.
func readSmall(tr *tar.Reader, name string, limit int64, fail func(string, error) error) ([]byte, error) {
	hdr, err := tr.Next()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fail(name, err)
	}
	if hdr.Name != name {
		if name == SignatureName {
			return nil, fmt.Errorf("bundle: %w: the second entry is %q, not %s: the bundle is unsigned; sign it with boothctl firmware sign", ErrSignature, hdr.Name, name)
		}
		return nil, fmt.Errorf("bundle: %w: the first entry is %q, not %s", ErrFormat, hdr.Name, name)
	}
	if !isRegular(hdr) {
		return nil, fmt.Errorf("bundle: %w: %s is not a regular file", ErrFormat, name)
	}
	if hdr.Size > limit {
		return nil, fmt.Errorf("bundle: %w: %s is %d bytes, over the limit of %d", ErrTooLarge, name, hdr.Size, limit)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return nil, fail(name, err)
	}
	return data, nil
}

func readFile(tr *tar.Reader, i int, f File, create func(File) (io.WriteCloser, error), fail func(string, error) error) error {
	hdr, err := tr.Next()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // fewer files than listed
	}
	if err != nil {
		return fail(f.Path, err)
	}
	if hdr.Name != f.Path {
		return fmt.Errorf("bundle: %w: entry %d is %q, the manifest lists %q there", ErrFormat, i+3, hdr.Name, f.Path)
	}
	if !isRegular(hdr) {
		return fmt.Errorf("bundle: %w: %q is a link or device (tar type %q); bundles hold regular files only", ErrPath, f.Path, hdr.Typeflag)
	}
	if hdr.Size != f.Size {
		return fmt.Errorf("bundle: %w: %q is %d bytes in the archive, %d in the manifest; rebuild the bundle", ErrHash, f.Path, hdr.Size, f.Size)
	}
	h := sha256.New()
	var w io.Writer = h
	var out io.WriteCloser
	if create != nil {
		out, err = create(f)
		if err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		w = io.MultiWriter(out, h)
	}
	n, err := io.Copy(w, tr)
	if out != nil {
		if cerr := out.Close(); err == nil && cerr != nil {
			return fmt.Errorf("bundle: write %q: %w", f.Path, cerr)
		}
	}
	if err != nil {
		return fail(f.Path, err)
	}
	if n != f.Size {
		return fail(f.Path, io.ErrUnexpectedEOF)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		return fmt.Errorf("bundle: %w: %q has SHA-256 %s, the manifest says %s: the bundle is corrupt or was altered after signing; download it again", ErrHash, f.Path, sum, f.SHA256)
	}
	return nil
}

func isRegular(hdr *tar.Header) bool {
	return hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA //nolint:staticcheck // old archives
}

// sizedReader reads exactly size bytes of r and notices one more.
type sizedReader struct {
	r       io.Reader
	n, size int64
	over    bool
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.over {
		return 0, ErrTooLarge
	}
	if s.n >= s.size {
		var b [1]byte
		k, err := s.r.Read(b[:])
		if k > 0 {
			s.over = true
			return 0, ErrTooLarge
		}
		if err == nil {
			return 0, nil
		}
		return 0, err
	}
	if rem := s.size - s.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	k, err := s.r.Read(p)
	s.n += int64(k)
	return k, err
}

// classify turns a read error into the reason a person can act on.
func (s *sizedReader) classify(what string, err error) error {
	switch {
	case s.over:
		return fmt.Errorf("bundle: %w: more than the declared %d bytes (at %s); download it again", ErrTooLarge, s.size, what)
	case (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) && s.n < s.size:
		return fmt.Errorf("bundle: %w: ended after %d of %d bytes (in %s); resume or restart the download", ErrTruncated, s.n, s.size, what)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("bundle: %w: the archive ends inside %s though all %d bytes arrived; rebuild the bundle", ErrTruncated, what, s.size)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("bundle: %w: at %s: %v", ErrFormat, what, err)
	}
	return fmt.Errorf("bundle: read %s: %w", what, err)
}
