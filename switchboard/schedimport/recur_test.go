package schedimport

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

// randomRule writes an RRULE of the kinds rrule-go expands in bounded time, so the two
// can be compared: no HOURLY rule whose INTERVAL could miss its BYHOUR, and no BYSETPOS
// on an HOURLY one.
func randomRule(rnd *rand.Rand) string {
	f := rnd.IntN(5)
	parts := []string{"FREQ=" + strings.Fields(freqNames)[f]}
	pick := func(n int, from func() int) string {
		seen := map[int]bool{}
		var vs []string
		for range n {
			if v := from(); !seen[v] {
				seen[v] = true
				vs = append(vs, fmt.Sprint(v))
			}
		}
		return strings.Join(vs, ",")
	}
	signed := func(hi int) func() int {
		return func() int {
			v := 1 + rnd.IntN(hi)
			if rnd.IntN(4) == 0 {
				v = -v
			}
			return v
		}
	}
	chance := func(pct int) bool { return rnd.IntN(100) < pct }
	interval := 1
	if chance(40) {
		interval = 1 + rnd.IntN(4)
	}
	if chance(25) {
		parts = append(parts, fmt.Sprintf("COUNT=%d", 1+rnd.IntN(80)))
	}
	if chance(20) {
		parts = append(parts, "WKST="+strings.Fields(dayNames)[rnd.IntN(7)])
	}
	if chance(25) {
		parts = append(parts, "BYMONTH="+pick(1+rnd.IntN(4), func() int { return 1 + rnd.IntN(12) }))
	}
	if chance(25) {
		parts = append(parts, "BYMONTHDAY="+pick(1+rnd.IntN(4), signed(31)))
	}
	if chance(10) {
		parts = append(parts, "BYYEARDAY="+pick(1+rnd.IntN(6), signed(366)))
	}
	if chance(10) {
		parts = append(parts, "BYWEEKNO="+pick(1+rnd.IntN(4), signed(53)))
	}
	if chance(45) {
		days := map[string]bool{}
		var ds []string
		for range 1 + rnd.IntN(3) {
			d := strings.Fields(dayNames)[rnd.IntN(7)]
			switch {
			case f == int(yearly) && chance(30):
				d = fmt.Sprint(signed(53)()) + d
			case f <= int(monthly) && chance(50):
				d = fmt.Sprint(signed(5)()) + d
			}
			if !days[d] {
				days[d] = true
				ds = append(ds, d)
			}
		}
		parts = append(parts, "BYDAY="+strings.Join(ds, ","))
	}
	if chance(25) {
		parts = append(parts, "BYHOUR="+pick(1+rnd.IntN(3), func() int { return rnd.IntN(24) }))
		if f == int(hourly) {
			interval = 1
		}
	}
	if chance(25) {
		parts = append(parts, "BYMINUTE="+pick(1+rnd.IntN(3), func() int { return rnd.IntN(60) }))
	}
	if chance(5) {
		parts = append(parts, "BYSECOND="+pick(1+rnd.IntN(2), func() int { return rnd.IntN(60) }))
	}
	if f != int(hourly) && chance(15) {
		parts = append(parts, "BYSETPOS="+pick(1+rnd.IntN(3), signed(6)))
	}
	if interval > 1 {
		parts = append(parts, fmt.Sprintf("INTERVAL=%d", interval))
	}
	rnd.Shuffle(len(parts)-1, func(i, j int) { parts[i+1], parts[j+1] = parts[j+1], parts[i+1] })
	return strings.Join(parts, ";")
}

// libraryBetween expands with rrule-go; false if it panics (it does on some rules that
// match nothing, such as BYDAY=-5MO in a short month range).
func libraryBetween(rule string, start, lo, hi time.Time) (ws []time.Time, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	ro, err := rrule.StrToROptionInLocation(rule, time.UTC)
	if err != nil {
		panic(err)
	}
	ro.Dtstart = start
	r, err := rrule.NewRRule(*ro)
	if err != nil {
		panic(err)
	}
	return r.Between(lo, hi, true), true
}

func ourBetween(t *testing.T, rule string, start, lo, hi time.Time) []time.Time {
	t.Helper()
	rp, err := readRRule(rule)
	if err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	r, err := rp.rule(start)
	if err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	var ws []time.Time
	if err := r.expand(lo, hi, &work{left: 1 << 30}, func(w time.Time) bool { ws = append(ws, w); return true }); err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	return ws
}

// TestRecurMatchesRRule compares the expansion with rrule-go's over random rules, DTSTARTs
// and windows, some long after DTSTART (where expansion skips ahead) and some with COUNT.
func TestRecurMatchesRRule(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	n := 400
	if testing.Short() {
		n = 100
	}
	compared := 0
	for i := range n {
		rule := randomRule(rnd)
		start := time.Date(2020+rnd.IntN(8), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(28), rnd.IntN(24), rnd.IntN(4)*15, 0, 0, time.UTC)
		lo := start.Add(time.Duration(rnd.IntN(900*24)-30*24) * time.Hour)
		hi := lo.Add(time.Duration(1+rnd.IntN(120*24)) * time.Hour)
		got := ourBetween(t, rule, start, lo, hi)
		// rrule-go looks for the instance after hi period by period, up to the year 9999 if
		// there is none (a third of a second for a DAILY or HOURLY rule): give it only one
		// in ten of the rules with no instance in the year after hi.
		if i%10 != 0 && !strings.HasPrefix(rule, "FREQ=YEARLY") &&
			len(ourBetween(t, rule, start, hi.Add(time.Second), hi.AddDate(1, 0, 0))) == 0 {
			continue
		}
		want, ok := libraryBetween(rule, start, lo, hi)
		if !ok {
			continue
		}
		compared++
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("%s from %s, %s to %s:\n got  %d %v\n want %d %v", rule, start.Format(time.DateTime), lo.Format(time.DateTime), hi.Format(time.DateTime), len(got), clipTimes(got), len(want), clipTimes(want))
		}
	}
	if compared < n*3/4 {
		t.Errorf("compared %d rules of %d, want most", compared, n)
	}
	t.Logf("%d of %d rules compared", compared, n)
}

func clipTimes(ts []time.Time) []string {
	var out []string
	for i, t := range ts {
		if i == 6 {
			out = append(out, "…")
			break
		}
		out = append(out, t.Format("2006-01-02 15:04:05"))
	}
	return out
}
