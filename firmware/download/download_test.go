package download

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var content = bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 000 bytes

// server serves content with ranges (http.ServeContent), records each request's Range
// header, and lets a test change how a request is answered.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
	// handle, when set, answers request i (from 0) instead of ServeContent.
	handle func(i int, w http.ResponseWriter, r *http.Request) bool
}

func newServer(t *testing.T) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		i := len(s.ranges)
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		h := s.handle
		s.mu.Unlock()
		if h != nil && h(i, w, r) {
			return
		}
		http.ServeContent(w, r, "bundle.tar", time.Unix(0, 0), bytes.NewReader(content))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// cut sends the headers of the whole file and its first n bytes, then drops the
// connection.
func cut(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(content)))
	w.WriteHeader(http.StatusOK)
	w.Write(content[:n])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

func TestResumeAfterCut(t *testing.T) {
	s := newServer(t)
	s.handle = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if i == 0 {
			cut(w, 100000)
		}
		return false
	}
	dst := filepath.Join(t.TempDir(), "bundle.tar")
	d := New(s.Client(), nil)
	var progress []Progress
	opt := Options{MaxSize: 1 << 20, Size: int64(len(content)), Progress: func(p Progress) { progress = append(progress, p) }}

	if _, err := d.Get(context.Background(), s.URL, dst, opt); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("first Get: got %v, want ErrInterrupted", err)
	}
	// The cut falls after what the server flushed; the kernel decides how much of it
	// arrived, but not less than nothing nor more than that.
	have := partSize(t, dst)
	if have <= 0 || have > 100000 {
		t.Fatalf("partial file: got %d bytes, want some of the first 100000 kept", have)
	}
	n, err := d.Get(context.Background(), s.URL, dst, opt)
	if err != nil || n != int64(len(content)) {
		t.Fatalf("second Get: got %d, %v, want %d, nil", n, err, len(content))
	}
	if got, want := s.seen(), fmt.Sprintf("bytes=%d-", have); len(got) != 2 || got[0] != "" || got[1] != want {
		t.Errorf("requests' ranges: got %q, want none then %s", got, want)
	}
	checkFile(t, dst)
	for i := 1; i < len(progress); i++ {
		if progress[i].Done < progress[i-1].Done && progress[i].Done != have {
			t.Fatalf("progress went back: %v then %v", progress[i-1], progress[i])
		}
	}
	last := progress[len(progress)-1]
	if last.Done != int64(len(content)) || last.Total != int64(len(content)) {
		t.Errorf("last progress: got %+v, want %d of %d", last, len(content), len(content))
	}
}

// A server that does not honour the range, or honours another one, never has its bytes
// appended at the wrong place: the file restarts from zero.
func TestRangeNotHonoured(t *testing.T) {
	tests := []struct {
		name   string
		second func(w http.ResponseWriter, r *http.Request) bool
		want   []string // "R" is the resume's range
	}{
		{"200 with the whole file", func(w http.ResponseWriter, r *http.Request) bool {
			w.Write(content)
			return true
		}, []string{"", "R"}},
		{"206 from another offset", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 10-%d/%d", len(content)-1, len(content)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content[10:])
			return true
		}, []string{"", "R", ""}},
		{"206 without Content-Range", func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content[10:])
			return true
		}, []string{"", "R", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.handle = func(i int, w http.ResponseWriter, r *http.Request) bool {
				switch i {
				case 0:
					cut(w, 50000)
				case 1:
					return tt.second(w, r)
				}
				return false
			}
			dst := filepath.Join(t.TempDir(), "bundle.tar")
			d := New(s.Client(), nil)
			opt := Options{MaxSize: 1 << 20}
			d.Get(context.Background(), s.URL, dst, opt)
			resume := fmt.Sprintf("bytes=%d-", partSize(t, dst))
			if _, err := d.Get(context.Background(), s.URL, dst, opt); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			checkFile(t, dst)
			want := strings.ReplaceAll(strings.Join(tt.want, ","), "R", resume)
			if got := s.seen(); strings.Join(got, ",") != want {
				t.Errorf("ranges: got %q, want %q", got, want)
			}
		})
	}
}

func TestAlreadyWhole(t *testing.T) {
	s := newServer(t)
	dst := filepath.Join(t.TempDir(), "bundle.tar")
	os.WriteFile(dst+PartSuffix, content, 0o644)
	n, err := New(s.Client(), nil).Get(context.Background(), s.URL, dst, Options{MaxSize: 1 << 20})
	if err != nil || n != int64(len(content)) {
		t.Fatalf("got %d, %v, want the partial file taken as whole", n, err)
	}
	checkFile(t, dst)
}

func TestTooLarge(t *testing.T) {
	tests := []struct {
		name   string
		handle func(i int, w http.ResponseWriter, r *http.Request) bool
		opt    Options
		want   error
	}{
		{"declared over the limit", nil, Options{MaxSize: 1000}, ErrTooLarge},
		{"undeclared and over the limit", func(i int, w http.ResponseWriter, r *http.Request) bool {
			w.(http.Flusher).Flush() // chunked: no Content-Length
			for range 10 {
				w.Write(content[:1000])
			}
			return true
		}, Options{MaxSize: 5000}, ErrTooLarge},
		{"not the announced size", nil, Options{MaxSize: 1 << 20, Size: 1234}, ErrSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.handle = tt.handle
			dst := filepath.Join(t.TempDir(), "bundle.tar")
			_, err := New(s.Client(), nil).Get(context.Background(), s.URL, dst, tt.opt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, p := range []string{dst, dst + PartSuffix} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s: got %v, want removed", filepath.Base(p), err)
				}
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	s := newServer(t)
	release := make(chan struct{})
	s.handle = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if i > 0 {
			return false
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.Write(content[:70000])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}
	defer close(release)
	dst := filepath.Join(t.TempDir(), "bundle.tar")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opt := Options{MaxSize: 1 << 20, Progress: func(p Progress) {
		if p.Done >= 70000 {
			cancel()
		}
	}}
	d := New(s.Client(), nil)
	if _, err := d.Get(ctx, s.URL, dst, opt); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if fi, err := os.Stat(dst + PartSuffix); err != nil || fi.Size() != 70000 {
		t.Fatalf("partial after cancel: got %v, %v, want 70000 bytes", fi, err)
	}
	if _, err := d.Get(context.Background(), s.URL, dst, Options{MaxSize: 1 << 20}); err != nil {
		t.Fatalf("resume after cancel: got %v, want nil", err)
	}
	checkFile(t, dst)
}

func TestStatus(t *testing.T) {
	s := newServer(t)
	s.handle = func(i int, w http.ResponseWriter, r *http.Request) bool {
		http.NotFound(w, r)
		return true
	}
	_, err := New(s.Client(), nil).Get(context.Background(), s.URL, filepath.Join(t.TempDir(), "b"), Options{MaxSize: 1 << 20})
	if !errors.Is(err, ErrStatus) || !strings.Contains(err.Error(), "404") {
		t.Errorf("got %v, want ErrStatus naming 404", err)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-99/100", 0, 99, 100, true},
		{"bytes 50-99/*", 50, 99, -1, true},
		{"bytes */100", 0, 0, 0, false},
		{"bytes 9-5/100", 0, 0, 0, false},
		{"items 0-1/2", 0, 0, 0, false},
		{"bytes -5-9/100", 0, 0, 0, false},
	}
	for _, tt := range tests {
		s, e, tot, ok := parseContentRange(tt.in)
		if ok != tt.ok || (ok && (s != tt.start || e != tt.end || tot != tt.total)) {
			t.Errorf("%q: got %d-%d/%d %v, want %d-%d/%d %v", tt.in, s, e, tot, ok, tt.start, tt.end, tt.total, tt.ok)
		}
	}
}

func checkFile(t *testing.T, dst string) {
	t.Helper()
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("downloaded file: got %d bytes, %v, want the %d bytes served", len(got), err, len(content))
	}
	if _, err := os.Stat(dst + PartSuffix); !os.IsNotExist(err) {
		t.Errorf("partial file after success: got %v, want gone", err)
	}
}

func partSize(t *testing.T, dst string) int64 {
	t.Helper()
	fi, err := os.Stat(dst + PartSuffix)
	if err != nil {
		t.Fatalf("partial file: %v", err)
	}
	return fi.Size()
}
