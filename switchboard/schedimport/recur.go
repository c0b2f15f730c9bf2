package schedimport

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Recurrence rules (RFC 5545 section 3.3.10) are read and expanded here rather than by
// rrule-go, which computes a whole period (a year of a YEARLY rule) before it returns its
// first instance, builds the product of BYHOUR, BYMINUTE and BYSECOND without removing
// repeats, parses every BYDAY value into a new map, and looks for the next instance until
// the year 9999 however long that takes: FREQ=HOURLY;BYSETPOS=2 ran for seconds and
// allocated gigabytes, and FREQ=HOURLY;INTERVAL=2;BYHOUR=9 from an even hour never
// returned. recurRule gives the same instances as rrule-go (the day masks follow it and
// python-dateutil, and TestRecurMatchesRRule compares the two), one at a time; it starts
// at the import window rather than at DTSTART when COUNT allows, and stops at the
// window's end.

const (
	// maxStartsPerDay bounds BYHOUR × BYMINUTE × BYSECOND: one start a minute round the
	// clock.
	maxStartsPerDay = 1440
	// maxRRuleLen bounds an RRULE value; real ones are under 100 characters.
	maxRRuleLen = 1024
)

// errTooMuchWork is returned when expanding a file's rules has used up its work.
var errTooMuchWork = errors.New("too much work")

// work counts the steps (periods, days and instances looked at) that expanding a file's
// recurrences takes, so that no file, however its rules are written, costs more than a
// bounded amount of CPU. One belongs to one parse.
type work struct{ left int }

func (w *work) spend(n int) bool {
	w.left -= n
	return w.left >= 0
}

func (w *work) exhausted() bool { return w.left < 0 }

type freq int

const (
	yearly freq = iota
	monthly
	weekly
	daily
	hourly
	minutely
	secondly
)

// freqNames and dayNames are in the order of freq and of week days from Monday.
const (
	freqNames = "YEARLY MONTHLY WEEKLY DAILY HOURLY MINUTELY SECONDLY"
	dayNames  = "MO TU WE TH FR SA SU"
)

// nameIndex is the position of name among names, or -1.
func nameIndex(names, name string) int {
	return slices.Index(strings.Fields(names), strings.ToUpper(strings.TrimSpace(name)))
}

func (f freq) String() string { return strings.Fields(freqNames)[f] }

type nthDay struct{ day, n int } // day: 0 is Monday, as python-dateutil numbers them

// rruleParts is an RRULE value as written, checked against RFC 5545's bounds.
type rruleParts struct {
	freq            freq
	interval, count int
	// until is a wall clock, or an instant if untilUTC; a DATE (untilDate) includes its day.
	until               time.Time
	untilUTC, untilDate bool
	wkst                int

	setpos, month, monthday, yearday, weekno []int
	hour, minute, second                     []int
	byday                                    []nthDay // n is 0 for any such day
	hasByday                                 bool
}

// readRRule reads an RRULE value such as FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20261231.
func readRRule(v string) (*rruleParts, error) {
	v = strings.TrimSpace(v)
	if len(v) > maxRRuleLen {
		return nil, fmt.Errorf("is %d characters long; a schedule's rule needs fewer than %d", len(v), maxRRuleLen)
	}
	rp := &rruleParts{freq: -1, interval: 1}
	for _, part := range strings.Split(v, ";") {
		key, val, ok := strings.Cut(part, "=")
		key = strings.ToUpper(strings.TrimSpace(key))
		if !ok || strings.Contains(val, "=") {
			return nil, fmt.Errorf("%q is not NAME=VALUE", clip(part))
		}
		if val == "" {
			return nil, fmt.Errorf("%s has no value", key)
		}
		var err error
		switch key {
		case "FREQ":
			if rp.freq = freq(nameIndex(freqNames, val)); rp.freq < 0 {
				err = fmt.Errorf("FREQ=%s is not one of %s", clip(val), freqNames)
			}
		case "INTERVAL":
			if rp.interval, err = strconv.Atoi(val); err != nil || rp.interval < 0 || rp.interval > 1<<20 {
				err = fmt.Errorf("INTERVAL=%s: want a positive number of periods", clip(val))
			}
			rp.interval = max(rp.interval, 1)
		case "COUNT":
			if rp.count, err = strconv.Atoi(val); err != nil || rp.count < 0 {
				err = fmt.Errorf("COUNT=%s: want a positive number of instances", clip(val))
			}
		case "UNTIL":
			rp.untilUTC, rp.untilDate = strings.HasSuffix(val, "Z"), len(val) == 8
			layout := "20060102T150405"
			if rp.untilDate {
				layout = "20060102"
			}
			if rp.until, err = time.Parse(layout, strings.TrimSuffix(val, "Z")); err != nil {
				err = fmt.Errorf("UNTIL=%s is not a DATE or DATE-TIME such as 20261231 or 20261231T235959Z", clip(val))
			}
		case "WKST":
			if rp.wkst = nameIndex(dayNames, val); rp.wkst < 0 {
				err = fmt.Errorf("WKST=%s is not a day such as MO", clip(val))
			}
		case "BYDAY":
			rp.hasByday = true
			rp.byday = rp.byday[:0]
			for _, d := range strings.Split(val, ",") {
				d = strings.TrimSpace(d)
				wd := -1
				if len(d) >= 2 {
					wd = nameIndex(dayNames, d[len(d)-2:])
				}
				n := 0
				if wd >= 0 && len(d) > 2 {
					n, err = strconv.Atoi(d[:len(d)-2])
				}
				if wd < 0 || err != nil || n > 53 || n < -53 || len(d) > 2 && n == 0 {
					return nil, fmt.Errorf("BYDAY %q is not a day such as MO, 2TU or -1FR", clip(d))
				}
				rp.byday = append(rp.byday, nthDay{wd, n})
			}
		default:
			dst, lo, hi, signed := rp.byList(key)
			if dst == nil {
				return nil, fmt.Errorf("%s is not an RRULE part", clip(key))
			}
			*dst = (*dst)[:0]
			for _, s := range strings.Split(val, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || !(n >= lo && n <= hi) && !(signed && n <= -lo && n >= -hi) {
					if signed {
						return nil, fmt.Errorf("%s=%s: each value must be between %d and %d, or %d and %d", key, clip(val), lo, hi, -lo, -hi)
					}
					return nil, fmt.Errorf("%s=%s: each value must be between %d and %d", key, clip(val), lo, hi)
				}
				*dst = append(*dst, n)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if rp.freq < 0 {
		return nil, errors.New("FREQ is missing")
	}
	return rp, nil
}

// byList is where a BYxxx list goes and its bounds.
func (rp *rruleParts) byList(key string) (dst *[]int, lo, hi int, signed bool) {
	switch key {
	case "BYSECOND":
		return &rp.second, 0, 59, false
	case "BYMINUTE":
		return &rp.minute, 0, 59, false
	case "BYHOUR":
		return &rp.hour, 0, 23, false
	case "BYMONTHDAY":
		return &rp.monthday, 1, 31, true
	case "BYYEARDAY":
		return &rp.yearday, 1, 366, true
	case "BYWEEKNO":
		return &rp.weekno, 1, 53, true
	case "BYMONTH":
		return &rp.month, 1, 12, false
	case "BYSETPOS":
		return &rp.setpos, 1, 366, true
	}
	return nil, 0, 0, false
}

// recurRule is one RRULE ready to expand from its DTSTART: BY lists sorted and without
// repeats, and the defaults RFC 5545 takes from DTSTART made explicit.
type recurRule struct {
	freq     freq // yearly to hourly
	interval int
	count    int       // 0: no COUNT
	until    time.Time // wall clock; zero: none (an UTC UNTIL is the caller's to check)
	wkst     int
	start    time.Time // DTSTART wall clock, in UTC's location, whole seconds

	setpos, month, monthday, nmonthday, yearday, weekno []int
	weekday                                             []int // any such week day
	nweekday                                            []nthDay
	hour                                                []int // HOURLY: the hours it runs in
	// times are the seconds into the day (HOURLY: into the hour) of the instances, sorted.
	times []int
}

// rule prepares the parts for expansion from DTSTART start, a wall clock.
func (rp *rruleParts) rule(start time.Time) (*recurRule, error) {
	if rp.freq > hourly {
		return nil, fmt.Errorf("FREQ=%s cannot be expanded", rp.freq)
	}
	r := &recurRule{freq: rp.freq, interval: rp.interval, count: rp.count, wkst: rp.wkst, start: start.Truncate(time.Second)}
	if !rp.until.IsZero() && !rp.untilUTC {
		r.until = rp.until
		if rp.untilDate {
			r.until = r.until.Add(24*time.Hour - time.Second) // a DATE includes its whole day
		}
	}
	r.setpos, r.month, r.yearday, r.weekno = sortedSet(rp.setpos), sortedSet(rp.month), sortedSet(rp.yearday), sortedSet(rp.weekno)
	for _, d := range sortedSet(rp.monthday) {
		if d > 0 {
			r.monthday = append(r.monthday, d)
		} else {
			r.nmonthday = append(r.nmonthday, d)
		}
	}
	for _, d := range rp.byday {
		if d.n == 0 || r.freq > monthly { // a number only counts within a month or year
			r.weekday = append(r.weekday, d.day)
		} else if !slices.Contains(r.nweekday, d) {
			r.nweekday = append(r.nweekday, d)
		}
	}
	r.weekday = sortedSet(r.weekday)
	if len(rp.weekno)+len(rp.yearday)+len(rp.monthday) == 0 && !rp.hasByday {
		switch r.freq {
		case yearly:
			if len(r.month) == 0 {
				r.month = []int{int(start.Month())}
			}
			r.monthday = []int{start.Day()}
		case monthly:
			r.monthday = []int{start.Day()}
		case weekly:
			r.weekday = []int{pyWeekday(start.Weekday())}
		}
	}
	hours, minutes, seconds := sortedSet(rp.hour), sortedSet(rp.minute), sortedSet(rp.second)
	if len(minutes) == 0 {
		minutes = []int{start.Minute()}
	}
	if len(seconds) == 0 {
		seconds = []int{start.Second()}
	}
	hoursPerDay := len(hours)
	switch {
	case r.freq == hourly:
		// An HOURLY rule's hours are its periods; its times are into the hour.
		r.hour, hours = hours, []int{0}
		if hoursPerDay == 0 {
			hoursPerDay = 24
		}
	case len(hours) == 0:
		hours, hoursPerDay = []int{start.Hour()}, 1
	}
	if perDay := hoursPerDay * len(minutes) * len(seconds); perDay > maxStartsPerDay {
		return nil, fmt.Errorf("starts %d times a day (BYHOUR × BYMINUTE × BYSECOND), more than the %d (one a minute) any appointment schedule needs", perDay, maxStartsPerDay)
	}
	r.times = make([]int, 0, len(hours)*len(minutes)*len(seconds))
	for _, h := range hours {
		for _, m := range minutes {
			for _, s := range seconds {
				r.times = append(r.times, h*3600+m*60+s)
			}
		}
	}
	return r, nil
}

func sortedSet(vs []int) []int {
	if len(vs) == 0 {
		return nil
	}
	out := slices.Clone(vs)
	slices.Sort(out)
	return slices.Compact(out)
}

// pyWeekday numbers week days from Monday (0), as rrule-go and python-dateutil do.
func pyWeekday(d time.Weekday) int { return (int(d) + 6) % 7 }

func pymod(a, b int) int {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// dayNumber counts days from 1970-01-01 to the wall clock's date.
func dayNumber(w time.Time) int {
	return int(time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayWall(n int) time.Time { return time.Unix(int64(n)*86400, 0).UTC() }

// yearInfo is what the day filters need of one year; the masks index days from 1 January,
// seven days past the year's end for a week that runs into the next.
type yearInfo struct {
	year, yearlen, nextlen, jan1wd int
	mrange                         [13]int
	weekno                         []bool // BYWEEKNO
	nweekday                       []bool // BYDAY with a number, for nthMonth (0: the year)
	nthMonth                       int
}

func (yi *yearInfo) load(r *recurRule, year, month int) {
	if yi.yearlen == 0 || yi.year != year {
		yi.year = year
		yi.yearlen, yi.nextlen = 365, 365
		if isLeap(year) {
			yi.yearlen = 366
		}
		if isLeap(year + 1) {
			yi.nextlen = 366
		}
		yi.jan1wd = pyWeekday(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Weekday())
		yi.mrange = [13]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}
		if yi.yearlen == 366 {
			yi.mrange = [13]int{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366}
		}
		if len(r.weekno) > 0 {
			yi.loadWeekno(r)
		}
		yi.nthMonth = -1
	}
	if len(r.nweekday) > 0 && r.freq <= monthly {
		if r.freq == yearly {
			month = 0
		}
		if yi.nthMonth != month {
			yi.loadNweekday(r, month)
		}
	}
}

func (yi *yearInfo) wd(i int) int { return pymod(yi.jan1wd+i, 7) }

// loadWeekno marks the days of the ISO-style weeks BYWEEKNO names (weeks start on WKST;
// week 1 is the first with at least four days in the year).
func (yi *yearInfo) loadWeekno(r *recurRule) {
	yi.weekno = slices.Grow(yi.weekno[:0], yi.yearlen+7)[:yi.yearlen+7]
	clear(yi.weekno)
	mark := func(i int) {
		if i >= 0 && i < len(yi.weekno) {
			yi.weekno[i] = true
		}
	}
	markWeek := func(i int) {
		for j := 0; j < 7; j++ {
			mark(i)
			i++
			if yi.wd(i) == r.wkst {
				break
			}
		}
	}
	firstwkst := pymod(7-yi.jan1wd+r.wkst, 7)
	no1wkst := firstwkst
	var wyearlen int
	if no1wkst >= 4 {
		no1wkst = 0
		wyearlen = yi.yearlen + pymod(yi.jan1wd-r.wkst, 7)
	} else {
		wyearlen = yi.yearlen - no1wkst
	}
	numweeks := wyearlen/7 + (wyearlen%7)/4
	for _, n := range r.weekno {
		if n < 0 {
			n += numweeks + 1
		}
		if n <= 0 || n > numweeks {
			continue
		}
		i := no1wkst
		if n > 1 {
			i = no1wkst + (n-1)*7
			if no1wkst != firstwkst {
				i -= 7 - firstwkst
			}
		}
		markWeek(i)
	}
	if slices.Contains(r.weekno, 1) {
		// Week 1 of next year may start in this one.
		i := no1wkst + numweeks*7
		if no1wkst != firstwkst {
			i -= 7 - firstwkst
		}
		if i < yi.yearlen {
			markWeek(i)
		}
	}
	if no1wkst != 0 {
		// The first days may belong to the last week of last year.
		lnumweeks := -1
		if !slices.Contains(r.weekno, -1) {
			lwd := pyWeekday(time.Date(yi.year-1, 1, 1, 0, 0, 0, 0, time.UTC).Weekday())
			lno1wkst := pymod(7-lwd+r.wkst, 7)
			llen := 365
			if isLeap(yi.year - 1) {
				llen = 366
			}
			if lno1wkst >= 4 {
				lnumweeks = 52 + pymod(llen+pymod(lwd-r.wkst, 7), 7)/4
			} else {
				lnumweeks = 52 + pymod(yi.yearlen-no1wkst, 7)/4
			}
		}
		if slices.Contains(r.weekno, lnumweeks) {
			for i := 0; i < no1wkst; i++ {
				mark(i)
			}
		}
	}
}

// loadNweekday marks the days BYDAY=2MO, -1FR and the like name: in each BYMONTH month
// (or the whole year) of a YEARLY rule, in the month of a MONTHLY one.
func (yi *yearInfo) loadNweekday(r *recurRule, month int) {
	yi.nthMonth = month
	yi.nweekday = slices.Grow(yi.nweekday[:0], yi.yearlen)[:yi.yearlen]
	clear(yi.nweekday)
	mark := func(first, last int) {
		for _, nd := range r.nweekday {
			var i int
			if nd.n < 0 {
				i = last + (nd.n+1)*7
				i -= pymod(yi.wd(i)-nd.day, 7)
			} else {
				i = first + (nd.n-1)*7
				i += pymod(7-yi.wd(i)+nd.day, 7)
			}
			if first <= i && i <= last {
				yi.nweekday[i] = true
			}
		}
	}
	switch {
	case month > 0:
		mark(yi.mrange[month-1], yi.mrange[month]-1)
	case len(r.month) > 0:
		for _, m := range r.month {
			mark(yi.mrange[m-1], yi.mrange[m]-1)
		}
	default:
		mark(0, yi.yearlen-1)
	}
}

// dayOK says whether day i of the year passes the rule's day filters.
func (r *recurRule) dayOK(yi *yearInfo, i int) bool {
	var month, mday, nmday int
	if i >= yi.yearlen { // the first days of next January
		month, mday, nmday = 1, i-yi.yearlen+1, i-yi.yearlen-31
	} else {
		month = 1
		for yi.mrange[month] <= i {
			month++
		}
		mday = i - yi.mrange[month-1] + 1
		nmday = mday - (yi.mrange[month] - yi.mrange[month-1]) - 1
	}
	switch {
	case len(r.month) > 0 && !slices.Contains(r.month, month),
		len(r.weekno) > 0 && !yi.weekno[i],
		len(r.weekday) > 0 && !slices.Contains(r.weekday, yi.wd(i)),
		len(r.nweekday) > 0 && r.freq <= monthly && !yi.nweekday[i],
		len(r.monthday)+len(r.nmonthday) > 0 && !slices.Contains(r.monthday, mday) && !slices.Contains(r.nmonthday, nmday):
		return false
	case len(r.yearday) > 0 && i < yi.yearlen:
		return slices.Contains(r.yearday, i+1) || slices.Contains(r.yearday, i-yi.yearlen)
	case len(r.yearday) > 0:
		return slices.Contains(r.yearday, i+1-yi.yearlen) || slices.Contains(r.yearday, i-yi.yearlen-yi.nextlen)
	}
	return true
}

// period is where expansion is: a year, a month (counted from year 0), or a day number and,
// for HOURLY, an hour of it.
type period struct {
	n    int // YEARLY: year; MONTHLY: year*12 + month-1; else the day number
	hour int
}

func (r *recurRule) firstPeriod() period {
	switch r.freq {
	case yearly:
		return period{n: r.start.Year()}
	case monthly:
		return period{n: r.start.Year()*12 + int(r.start.Month()) - 1}
	}
	return period{n: dayNumber(r.start), hour: r.start.Hour()}
}

func (r *recurRule) periodStart(p period) time.Time {
	switch r.freq {
	case yearly:
		return time.Date(p.n, 1, 1, 0, 0, 0, 0, time.UTC)
	case monthly:
		return time.Date(p.n/12, time.Month(p.n%12+1), 1, 0, 0, 0, 0, time.UTC)
	case hourly:
		return dayWall(p.n).Add(time.Duration(p.hour) * time.Hour)
	}
	return dayWall(p.n)
}

// skipTo moves to the last period that starts by lo, keeping to the rule's INTERVAL. Only a
// rule without COUNT may skip: COUNT counts from DTSTART.
func (r *recurRule) skipTo(p period, lo time.Time) period {
	iv := r.interval
	var k int
	switch r.freq {
	case yearly:
		k = (lo.Year() - p.n) / iv
		return period{n: p.n + max(k, 0)*iv}
	case monthly:
		k = (lo.Year()*12 + int(lo.Month()) - 1 - p.n) / iv
		return period{n: p.n + max(k, 0)*iv}
	case weekly:
		// The first period runs from DTSTART to the week's end; later ones start on WKST.
		ws := p.n - pymod(pymod(p.n+3, 7)-r.wkst, 7)
		if k = (dayNumber(lo) - ws) / (7 * iv); k >= 1 {
			return period{n: ws + k*7*iv}
		}
		return p
	case daily:
		k = (dayNumber(lo) - p.n) / iv
		return period{n: p.n + max(k, 0)*iv}
	}
	h := p.n*24 + p.hour
	h += max((dayNumber(lo)*24+lo.Hour()-h)/iv, 0) * iv
	return period{n: h / 24, hour: h % 24}
}

// next moves to the following period; false if there is none.
func (r *recurRule) next(p period, dayFiltered bool) (period, bool) {
	iv := r.interval
	switch r.freq {
	case yearly, monthly, daily:
		return period{n: p.n + iv}, true
	case weekly:
		return period{n: p.n - pymod(pymod(p.n+3, 7)-r.wkst, 7) + 7*iv}, true
	}
	h := p.n*24 + p.hour
	if dayFiltered { // nothing else on this day can pass
		h += (23 - p.hour) / iv * iv
	}
	// The hours of the day repeat within 24 steps: if none is in BYHOUR, none ever is.
	for range 24 {
		h += iv
		if len(r.hour) == 0 || slices.Contains(r.hour, h%24) {
			return period{n: h / 24, hour: h % 24}, true
		}
	}
	return p, false
}

// expand calls yield with each instance (a wall clock) from lo to hi inclusive, in order,
// until yield returns false. Instances before lo are counted for COUNT but not given.
// It returns errTooMuchWork when w runs out.
func (r *recurRule) expand(lo, hi time.Time, w *work, yield func(time.Time) bool) error {
	if !r.until.IsZero() && r.until.Before(hi) {
		hi = r.until
	}
	p := r.firstPeriod()
	if r.count == 0 {
		p = r.skipTo(p, lo)
	}
	left := r.count // COUNT left; unused when 0
	var yi yearInfo
	var days, picks []int
	dayOf := struct{ n, year, month, yday int }{n: -1 << 40}
	loDay, hiDay := dayNumber(lo), dayNumber(hi)
	for {
		ps := r.periodStart(p)
		if ps.After(hi) {
			return nil
		}
		if !w.spend(1) {
			return errTooMuchWork
		}
		var first, end, year int // day span, indexed from 1 January of year
		switch r.freq {
		case yearly:
			year = p.n
			yi.load(r, year, 0)
			first, end = 0, yi.yearlen
		case monthly:
			year = p.n / 12
			yi.load(r, year, p.n%12+1)
			first, end = yi.mrange[p.n%12], yi.mrange[p.n%12+1]
		default:
			if p.n != dayOf.n { // an HOURLY rule's hours share their day
				y, m, _ := ps.Date()
				dayOf = struct{ n, year, month, yday int }{p.n, y, int(m), ps.YearDay() - 1}
			}
			year = dayOf.year
			yi.load(r, year, dayOf.month)
			first = dayOf.yday
			end = first + 1
			if r.freq == weekly {
				for end < first+7 && yi.wd(end) != r.wkst {
					end++
				}
			}
		}
		// The times of each day (HOURLY: of this hour).
		times, base := r.times, time.Duration(0)
		if r.freq == hourly {
			base = time.Duration(p.hour) * time.Hour
			if len(r.hour) > 0 && !slices.Contains(r.hour, p.hour) {
				times = nil
			}
		}
		jan1 := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		at := func(day, t int) time.Time { // wall clocks have no summer time: a day is 24 h
			return jan1.Add(time.Duration(day)*24*time.Hour + base + time.Duration(t)*time.Second)
		}
		// emit gives one instance; false: expansion is over.
		var stop bool
		emit := func(wall time.Time) bool {
			if wall.Before(r.start) {
				return true
			}
			if wall.After(hi) {
				stop = true
				return false
			}
			if r.count > 0 {
				if left--; left == 0 {
					stop = true
				}
			}
			if !wall.Before(lo) && !yield(wall) {
				stop = true
			}
			return !stop
		}
		// Without BYSETPOS, days after the window need no look, nor days before it unless
		// COUNT counts them; a YEARLY rule's days outside its BYMONTH never pass.
		if len(r.setpos) == 0 {
			jan1Day := int(jan1.Unix() / 86400)
			if r.count == 0 {
				first = max(first, loDay-jan1Day)
			}
			end = min(end, hiDay-jan1Day+1)
		}
		filtered := false
		days = days[:0]
		for m := 1; m <= 12; m++ {
			from, to := first, end
			if r.freq == yearly && len(r.month) > 0 {
				if !slices.Contains(r.month, m) {
					continue
				}
				from, to = max(from, yi.mrange[m-1]), min(to, yi.mrange[m])
			} else if m > 1 {
				break
			}
			for i := from; i < to; i++ {
				if !w.spend(1) {
					return errTooMuchWork
				}
				if !r.dayOK(&yi, i) {
					filtered = true
					continue
				}
				if len(r.setpos) > 0 {
					days = append(days, i)
					continue
				}
				if len(times) == 0 {
					continue
				}
				// A day (or hour) over before lo: count it without looking at each time.
				if day0 := at(i, 0); !day0.Add(time.Duration(times[len(times)-1]) * time.Second).Before(lo) {
					if !w.spend(len(times)) {
						return errTooMuchWork
					}
					for _, t := range times {
						if !emit(at(i, t)) {
							return nil
						}
					}
				} else if r.count > 0 && !at(i, times[len(times)-1]).Before(r.start) {
					n := len(times)
					for n > 0 && at(i, times[len(times)-n]).Before(r.start) {
						n--
					}
					if left -= n; left <= 0 {
						return nil
					}
				}
			}
		}
		if len(r.setpos) > 0 && len(times) > 0 && len(days) > 0 {
			// BYSETPOS picks from the period's instances, in order.
			total := len(days) * len(times)
			picks = picks[:0]
			for _, pos := range r.setpos {
				i := pos - 1
				if pos < 0 {
					i = total + pos
				}
				if i >= 0 && i < total {
					picks = append(picks, i)
				}
			}
			slices.Sort(picks)
			picks = slices.Compact(picks)
			if !w.spend(len(picks)) {
				return errTooMuchWork
			}
			for _, i := range picks {
				if !emit(at(days[i/len(times)], times[i%len(times)])) {
					return nil
				}
			}
		}
		var ok bool
		if p, ok = r.next(p, filtered && r.freq == hourly); !ok {
			return nil
		}
	}
}
