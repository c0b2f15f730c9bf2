package progressbar

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Interval is the least time between two redraws.
const Interval = 100 * time.Millisecond

const width = 25

// Bar draws the progress of Total bytes.
type Bar struct {
	out   io.Writer
	label string
	total int64
	plain bool
	clock clockwork.Clock

	mu       sync.Mutex // guards the fields below; Read may be called from a transport goroutine
	done     int64
	start    time.Time
	drawn    time.Time
	lastTen  int64
	finished bool
}

// Option changes a Bar.
type Option func(*Bar)

// Plain draws a line per 10% instead of redrawing one line, for output that is not a
// terminal.
func Plain(b *Bar) { b.plain = true }

// New returns a Bar for total bytes (0 or less when unknown) drawn to out.
func New(out io.Writer, label string, total int64, clock clockwork.Clock, opts ...Option) *Bar {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	b := &Bar{out: out, label: label, total: total, clock: clock, start: clock.Now()}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Reader returns r, counted into the bar as it is read.
func (b *Bar) Reader(r io.Reader) io.Reader { return &reader{r: r, b: b} }

type reader struct {
	r io.Reader
	b *Bar
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.b.Add(int64(n))
	return n, err
}

// Add counts n more bytes done.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.done += n
	now := b.clock.Now()
	if b.plain {
		if b.total > 0 {
			if ten := b.done * 10 / b.total; ten > b.lastTen {
				b.lastTen = ten
				fmt.Fprintln(b.out, b.line(now))
			}
		}
		return
	}
	if now.Sub(b.drawn) >= Interval {
		b.drawn = now
		fmt.Fprint(b.out, "\r"+b.line(now))
	}
}

// Finish draws the last state and ends the line. Later Adds are ignored.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	line := b.line(b.clock.Now())
	if b.plain {
		if b.total <= 0 || b.done*10/b.total > b.lastTen || b.done < b.total {
			fmt.Fprintln(b.out, line)
		}
		return
	}
	fmt.Fprint(b.out, "\r"+line+"\n")
}

// line must hold mu.
func (b *Bar) line(now time.Time) string {
	var s strings.Builder
	s.WriteString(b.label)
	if b.total > 0 {
		pct := b.done * 100 / b.total
		if pct > 100 {
			pct = 100
		}
		fill := int(pct) * width / 100
		bar := strings.Repeat("=", fill)
		if fill < width {
			bar += ">" + strings.Repeat(" ", width-fill-1)
		}
		fmt.Fprintf(&s, " [%s] %3d%%  %s / %s", bar, pct, size(b.done), size(b.total))
	} else {
		fmt.Fprintf(&s, "  %s", size(b.done))
	}
	if el := now.Sub(b.start); el > 0 {
		fmt.Fprintf(&s, "  %s/s", size(int64(float64(b.done)/el.Seconds())))
	}
	return s.String()
}

// size formats n bytes in binary units.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
