package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestListAndRecord(t *testing.T) {
	type row struct{ ID, Name string }
	v := []row{{"d1", "booth one"}, {"d22", "booth"}}
	var out bytes.Buffer
	p := Printer{Out: &out}
	if err := p.List(v, []string{"ID", "NAME"}, [][]string{{"d1", "booth one"}, {"d22", "booth"}}); err != nil {
		t.Fatal(err)
	}
	want := "ID   NAME\nd1   booth one\nd22  booth\n"
	if out.String() != want {
		t.Errorf("table: got %q, want %q", out.String(), want)
	}
	out.Reset()
	p.JSON = true
	p.List(v, []string{"ID"}, nil)
	var back []row
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back) != 2 || back[1].ID != "d22" {
		t.Errorf("--json list: got %q, %v", out.String(), err)
	}
	out.Reset()
	p.Record(map[string]int{"n": 1}, "ignored %d", 1)
	if strings.Contains(out.String(), "ignored") || !strings.Contains(out.String(), `"n": 1`) {
		t.Errorf("--json record: got %q, want the value alone", out.String())
	}
	out.Reset()
	p.JSON = false
	p.Record(nil, "clinic %s created", "c1")
	if out.String() != "clinic c1 created\n" {
		t.Errorf("record: got %q", out.String())
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	var errOut bytes.Buffer
	p := Printer{Out: &bytes.Buffer{}, Err: &errOut}
	bar := p.Progress(100, "uploading")
	if bar != nil {
		t.Fatal("stderr is a buffer: got a bar, want none")
	}
	r := bar.Reader(strings.NewReader("data")) // a nil bar passes reads through
	var got bytes.Buffer
	got.ReadFrom(r)
	bar.Finish()
	if got.String() != "data" || errOut.Len() != 0 {
		t.Errorf("nil bar: read %q and drew %q, want the data and nothing drawn", got.String(), errOut.String())
	}
}
