package discovery

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/jonboulle/clockwork"
)

// BenchmarkParseTXT: the cost of reading one announcement's TXT record.
func BenchmarkParseTXT(b *testing.B) {
	txt, _ := boothRecord().TXT()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTXT(KindDevice, txt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTableFlood: announcements of new names arriving at a full table (a flood), and
// the heap the full table holds, which is all a flood can make it take.
func BenchmarkTableFlood(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := NewTable(TableConfig{Clock: clockwork.NewFakeClock()})
	for i := range MaxDevices {
		r := boothRecord()
		r.ID = fmt.Sprintf("dev-%d", i)
		tab.Observe(testPeer(r.ID, r))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	r := boothRecord()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.ID = "flood"
		p := testPeer(fmt.Sprintf("flood-%d", i), r)
		i++
		if err := tab.Observe(p); err == nil {
			b.Fatal("a full table took a new peer")
		}
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1024, "KiB-full-table")
}
