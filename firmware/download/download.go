package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/carebooth/carebooth/atomicfile"
)

var (
	// ErrTooLarge: the download is, or says it is, over Options.MaxSize.
	ErrTooLarge = errors.New("download over the size limit")
	// ErrInterrupted: the transfer ended early; the partial file is kept, and calling
	// Get again resumes it.
	ErrInterrupted = errors.New("download interrupted")
	// ErrStatus: the server answered with a status other than 200, 206 or 416.
	ErrStatus = errors.New("unexpected HTTP status")
	// ErrSize: the server's length is not the size the caller expected.
	ErrSize = errors.New("size differs from the announced size")
)

// PartSuffix is added to the destination's name for the partial file.
const PartSuffix = ".part"

// Progress is how much of a download has arrived.
type Progress struct {
	Done  int64
	Total int64 // -1 while unknown
}

// Options bound and observe one download.
type Options struct {
	// MaxSize is the most bytes accepted; it must be set.
	MaxSize int64
	// Size, when not 0, is the size announced with the release: a server that says
	// otherwise is refused with ErrSize.
	Size int64
	// Progress, when set, is called from Get's goroutine after every write (about every
	// 32 KiB), so it should be quick; rate-limit any reporting there.
	Progress func(Progress)
}

// Downloader fetches files over HTTP with resume.
type Downloader struct {
	client *http.Client
	log    *slog.Logger
}

// New returns a Downloader using client (its timeouts and transport) and logger.
func New(client *http.Client, logger *slog.Logger) *Downloader {
	if client == nil {
		client = http.DefaultClient
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Downloader{client: client, log: logger.With("component", "firmware/download")}
}

// Get downloads url to dst, resuming dst+PartSuffix if a previous Get left one. It
// returns the file's size once dst holds the whole of it. On ErrInterrupted or a
// cancelled context the partial file stays, for the next Get to resume.
func (d *Downloader) Get(ctx context.Context, url, dst string, opt Options) (int64, error) {
	if opt.MaxSize <= 0 {
		return 0, fmt.Errorf("download %s: no size limit set", url)
	}
	part := dst + PartSuffix
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	have := fi.Size()
	if have > opt.MaxSize || (opt.Size > 0 && have > opt.Size) {
		have = 0
	}
	n, err := d.fetch(ctx, url, f, have, opt)
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrSize) {
		f.Close()
		os.Remove(part)
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	if err != nil {
		if serr := f.Sync(); serr != nil {
			d.log.Warn("partial download not synced", "file", part, "err", serr)
		}
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	if err := os.Rename(part, dst); err != nil {
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(dst)); err != nil {
		return 0, fmt.Errorf("download %s: %w", url, err)
	}
	return n, nil
}

// fetch makes at most two requests: a resume, and a fresh start if the server did not
// honour the range.
func (d *Downloader) fetch(ctx context.Context, url string, f *os.File, have int64, opt Options) (int64, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		if have > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		}
		resp, err := d.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("%w: %v", ErrInterrupted, err)
		}
		start, total, next, err := d.accept(resp, have)
		if err != nil {
			resp.Body.Close()
			return 0, err
		}
		if next == whole {
			resp.Body.Close()
			if opt.Size > 0 && have != opt.Size {
				return 0, fmt.Errorf("%w: the server says %d bytes, the release %d", ErrSize, have, opt.Size)
			}
			if opt.Progress != nil {
				opt.Progress(Progress{Done: have, Total: have})
			}
			return have, nil
		}
		if next == restart {
			resp.Body.Close()
			if attempt > 0 {
				return 0, fmt.Errorf("%w: the server did not honour a request from the start", ErrStatus)
			}
			d.log.Info("server did not honour the range; starting again", "had", have)
			have = 0
			continue
		}
		n, err := d.copy(ctx, resp, f, start, total, opt)
		resp.Body.Close()
		return n, err
	}
}

// action is what to do with a response.
type action int

const (
	useBody action = iota // copy the body from start
	restart               // ask again from zero
	whole                 // the partial file is already the whole file
)

// accept decides what a response is: the body from start, of total bytes (-1 unknown);
// a reason to restart with a plain request; the file already whole; or an error.
func (d *Downloader) accept(resp *http.Response, have int64) (start, total int64, next action, err error) {
	switch resp.StatusCode {
	case http.StatusOK:
		if have > 0 {
			d.log.Info("server sent the whole file instead of the range; starting again", "had", have)
		}
		return 0, resp.ContentLength, useBody, nil
	case http.StatusPartialContent:
		s, e, t, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if have == 0 || !ok || s != have || t < 0 || e != t-1 {
			return 0, 0, restart, nil
		}
		return have, t, useBody, nil
	case http.StatusRequestedRangeNotSatisfiable:
		if cr := resp.Header.Get("Content-Range"); have > 0 && strings.HasPrefix(cr, "bytes */") {
			if t, err := strconv.ParseInt(strings.TrimPrefix(cr, "bytes */"), 10, 64); err == nil && t == have {
				return have, have, whole, nil
			}
		}
		return 0, 0, restart, nil
	}
	return 0, 0, useBody, fmt.Errorf("%w %s", ErrStatus, resp.Status)
}

func (d *Downloader) copy(ctx context.Context, resp *http.Response, f *os.File, start, total int64, opt Options) (int64, error) {
	if total > opt.MaxSize {
		return 0, fmt.Errorf("%w: the server says %d bytes, the limit is %d", ErrTooLarge, total, opt.MaxSize)
	}
	if opt.Size > 0 && total >= 0 && total != opt.Size {
		return 0, fmt.Errorf("%w: the server says %d bytes, the release %d; the release or the server is wrong", ErrSize, total, opt.Size)
	}
	if err := f.Truncate(start); err != nil {
		return 0, err
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return 0, err
	}
	if total < 0 && opt.Size > 0 {
		total = opt.Size
	}
	done := start
	report := func() {
		if opt.Progress != nil {
			opt.Progress(Progress{Done: done, Total: total})
		}
	}
	report()
	buf := make([]byte, 32<<10)
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if done+int64(k) > opt.MaxSize {
				return 0, fmt.Errorf("%w: more than %d bytes arrived", ErrTooLarge, opt.MaxSize)
			}
			if _, err := f.Write(buf[:k]); err != nil {
				return 0, err
			}
			done += int64(k)
			report()
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("%w after %d bytes: %v", ErrInterrupted, done, rerr)
		}
	}
	if total >= 0 && done != total {
		return 0, fmt.Errorf("%w: %d of %d bytes", ErrInterrupted, done, total)
	}
	return done, nil
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*", returned as -1).
func parseContentRange(s string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	total = -1
	if tot != "*" {
		total, err3 = strconv.ParseInt(tot, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// Remove deletes dst and any partial download of it, for a bundle that was refused.
func Remove(dst string) error {
	var errs []error
	for _, p := range []string{dst, dst + PartSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
