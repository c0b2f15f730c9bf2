// Package output is how every boothctl command prints, so the fleet commands print as
// the others do:
//
//   - For people, a list is an aligned table with an upper-case header row, a record is a
//     short sentence, times are local.
//   - With --json, every command prints exactly one JSON document on stdout: the API's
//     value as the switchboard sent it (package switchboard/api), so scripts get the
//     wire shape, not the table.
//   - Long operations (an upload, paging through a history) draw a progress bar on
//     stderr only when stderr is a terminal and --json is off: a pipe or a log gets no
//     control characters.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Printer prints one command's result.
type Printer struct {
	Out  io.Writer // stdout
	Err  io.Writer // stderr, for progress
	JSON bool      // --json
}

// List prints v (the API's value) as JSON, or else a table of header and rows.
func (p Printer) List(v any, header []string, rows [][]string) error {
	if p.JSON {
		return p.json(v)
	}
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// Record prints v as JSON, or else the sentence format and args make.
func (p Printer) Record(v any, format string, args ...any) error {
	if p.JSON {
		return p.json(v)
	}
	_, err := fmt.Fprintf(p.Out, format+"\n", args...)
	return err
}

func (p Printer) json(v any) error {
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Progress returns a bar for total bytes described by what, or nil when none is to be
// drawn (--json, or stderr is not a terminal). A nil bar's methods do nothing.
func (p Printer) Progress(total int64, what string) *Bar {
	f, ok := p.Err.(*os.File)
	if p.JSON || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &Bar{pb: progressbar.DefaultBytes(total, what)}
}

// Bar is a progress bar (nil: none).
type Bar struct{ pb *progressbar.ProgressBar }

// Reader counts what is read from r into the bar.
func (b *Bar) Reader(r io.Reader) io.Reader {
	if b == nil {
		return r
	}
	rd := progressbar.NewReader(r, b.pb)
	return &rd
}

// Finish completes the bar.
func (b *Bar) Finish() {
	if b != nil {
		b.pb.Finish()
	}
}
