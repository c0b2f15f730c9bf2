package schedimport

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// zone turns a wall clock (a time in UTC's location whose fields are the local date and
// time) into an instant. Wall clocks that do not exist (the spring gap) move forward, as
// time.Date does; ones that happen twice (the autumn hour) take the first.
type zone interface {
	instant(wall time.Time) time.Time
}

type utcZone struct{}

func (utcZone) instant(w time.Time) time.Time { return w }

type ianaZone struct{ loc *time.Location }

func (z ianaZone) instant(w time.Time) time.Time {
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, z.loc)
}

// windowsZones maps the Windows (Outlook, Exchange) zone names seen in UK and European
// feeds, and Outlook's display names, to IANA names.
var windowsZones = map[string]string{
	"GMT Standard Time":                             "Europe/London",
	"(UTC+00:00) Dublin, Edinburgh, Lisbon, London": "Europe/London",
	"Greenwich Standard Time":                       "Atlantic/Reykjavik",
	"W. Europe Standard Time":                       "Europe/Berlin",
	"Romance Standard Time":                         "Europe/Paris",
	"Central Europe Standard Time":                  "Europe/Budapest",
	"Central European Standard Time":                "Europe/Warsaw",
	"GTB Standard Time":                             "Europe/Bucharest",
	"FLE Standard Time":                             "Europe/Kiev",
	"Eastern Standard Time":                         "America/New_York",
	"Central Standard Time":                         "America/Chicago",
	"Mountain Standard Time":                        "America/Denver",
	"Pacific Standard Time":                         "America/Los_Angeles",
	"India Standard Time":                           "Asia/Kolkata",
	"AUS Eastern Standard Time":                     "Australia/Sydney",
	"UTC":                                           "UTC",
	"Coordinated Universal Time":                    "UTC",
}

func loadLocation(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" {
		return nil, errors.New("empty time zone name")
	}
	if iana, ok := windowsZones[name]; ok {
		name = iana
	}
	return time.LoadLocation(name)
}

// resolveTZID finds the zone a TZID names: an IANA name (also inside a path such as
// /mozilla.org/20050126_1/Europe/London), a Windows name, or else the VTIMEZONE of the file.
func resolveTZID(tzid string, def *component, w *work) (zone, error) {
	if loc, err := loadLocation(tzid); err == nil {
		return ianaZone{loc}, nil
	}
	if parts := strings.Split(strings.Trim(tzid, "/"), "/"); len(parts) >= 2 {
		for i := len(parts) - 2; i >= 0; i-- {
			if loc, err := loadLocation(strings.Join(parts[i:], "/")); err == nil {
				return ianaZone{loc}, nil
			}
		}
	}
	if def == nil {
		return nil, fmt.Errorf("TZID %q is not a known time zone and the file has no VTIMEZONE for it", tzid)
	}
	return newRuleZone(def, w)
}

// ruleZone is a VTIMEZONE's STANDARD and DAYLIGHT observances. It belongs to one parse
// (not safe for concurrent use): transitions are cached by year, and expanding the rules
// spends the parse's work (which ParseICal checks after each event).
type ruleZone struct {
	obs   []observance
	cache map[int][]transition
	work  *work
}

// maxZoneChanges bounds an observance's onsets in three years: a time zone changes its
// offset at most a few times a year.
const maxZoneChanges = 12

type observance struct {
	startWall  time.Time
	from, to   time.Duration
	rule       *recurRule // nil: one onset, plus rdates
	rdateWalls []time.Time
}

type transition struct {
	at       time.Time // instant
	from, to time.Duration
}

func newRuleZone(def *component, w *work) (zone, error) {
	z := &ruleZone{work: w}
	for _, c := range def.subs {
		if c.name != "STANDARD" && c.name != "DAYLIGHT" {
			continue
		}
		var o observance
		dt := c.get("DTSTART")
		if dt == nil {
			return nil, &Error{Line: c.line, Msg: c.name + " without DTSTART"}
		}
		w, _, err := parseDateTime(dt)
		if err != nil {
			return nil, err
		}
		o.startWall = w
		for _, x := range []struct {
			name string
			d    *time.Duration
		}{{"TZOFFSETFROM", &o.from}, {"TZOFFSETTO", &o.to}} {
			p := c.get(x.name)
			if p == nil {
				return nil, &Error{Line: c.line, Msg: fmt.Sprintf("%s without %s", c.name, x.name)}
			}
			if *x.d, err = parseOffset(p.value); err != nil {
				return nil, &Error{Line: p.line, Msg: fmt.Sprintf("%s %q: %v", x.name, p.value, err)}
			}
		}
		if rp := c.get("RRULE"); rp != nil {
			parts, err := readRRule(rp.value)
			if err != nil {
				return nil, &Error{Line: rp.line, Msg: fmt.Sprintf("RRULE %q: %v", clip(rp.value), err)}
			}
			if parts.freq != yearly {
				return nil, &Error{Line: rp.line, Msg: "a time zone's RRULE must be yearly"}
			}
			if o.rule, err = parts.rule(w); err != nil {
				return nil, &Error{Line: rp.line, Msg: fmt.Sprintf("RRULE %q: %v", clip(rp.value), err)}
			}
			o.rule.until = parts.until
			if parts.untilUTC {
				o.rule.until = parts.until.Add(o.from) // compare on the wall clock before the change
			}
			// Try it once here, where an error can still name the line.
			n := 0
			err = o.rule.expand(w, w.AddDate(3, 0, 0), z.work, func(time.Time) bool { n++; return n <= maxZoneChanges })
			switch {
			case errors.Is(err, errTooMuchWork):
				return nil, &Error{Line: rp.line, Msg: tooMuchWork("the time zone's RRULE")}
			case n > maxZoneChanges:
				return nil, &Error{Line: rp.line, Msg: fmt.Sprintf("RRULE %q changes the time zone's offset more than %d times in three years: a time zone changes it at most a few times a year", clip(rp.value), maxZoneChanges)}
			}
		}
		for _, rp := range c.all("RDATE") {
			for _, v := range strings.Split(rp.value, ",") {
				if !z.work.spend(1) {
					return nil, &Error{Line: rp.line, Msg: tooMuchWork("the time zone's RDATE")}
				}
				q := *rp
				q.value = v
				rw, _, err := parseDateTime(&q)
				if err != nil {
					return nil, err
				}
				o.rdateWalls = append(o.rdateWalls, rw)
			}
		}
		z.obs = append(z.obs, o)
	}
	if len(z.obs) == 0 {
		return nil, &Error{Line: def.line, Msg: "VTIMEZONE without STANDARD or DAYLIGHT"}
	}
	return z, nil
}

func parseOffset(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 || s[0] != '+' && s[0] != '-' {
		return 0, errors.New("want an offset such as +0100")
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[3:5])
	sec := 0
	var err3 error
	if len(s) == 7 {
		sec, err3 = strconv.Atoi(s[5:7])
	}
	if err1 != nil || err2 != nil || err3 != nil || h > 23 || m > 59 || sec > 59 {
		return 0, errors.New("want an offset such as +0100")
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
	if s[0] == '-' {
		d = -d
	}
	return d, nil
}

// transitions lists the zone's changes between two years either side of wall, at most a
// few times maxZoneChanges for each observance. When the parse's work runs out it lists
// what it has; the import is refused anyway.
func (z *ruleZone) transitions(wall time.Time) (ts []transition) {
	lo, hi := wall.AddDate(-2, 0, 0), wall.AddDate(2, 0, 0)
	for _, o := range z.obs {
		z.work.spend(len(o.rdateWalls))
		onsets := append([]time.Time{}, o.rdateWalls...)
		if o.rule != nil {
			n := 0
			o.rule.expand(lo, hi, z.work, func(w time.Time) bool { //nolint:errcheck // see above
				onsets = append(onsets, w)
				n++
				return n < 2*maxZoneChanges
			})
		} else {
			onsets = append(onsets, o.startWall)
		}
		for _, w := range onsets {
			ts = append(ts, transition{at: w.Add(-o.from), from: o.from, to: o.to})
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].at.Before(ts[j].at) })
	return ts
}

func (z *ruleZone) instant(wall time.Time) time.Time {
	ts, ok := z.cache[wall.Year()]
	if !ok {
		ts = z.transitions(time.Date(wall.Year(), 7, 1, 0, 0, 0, 0, time.UTC))
		if z.cache == nil {
			z.cache = map[int][]transition{}
		}
		z.cache[wall.Year()] = ts
	}
	if len(ts) == 0 {
		return wall.Add(-z.obs[0].to)
	}
	offsetAt := func(u time.Time) time.Duration {
		off := ts[0].from
		for _, t := range ts {
			if t.at.After(u) {
				break
			}
			off = t.to
		}
		return off
	}
	// Try each offset the zone uses, largest first so an ambiguous wall takes its first
	// (summer time) instant.
	offs := map[time.Duration]bool{}
	for _, t := range ts {
		offs[t.from], offs[t.to] = true, true
	}
	cands := make([]time.Duration, 0, len(offs))
	for o := range offs {
		cands = append(cands, o)
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i] > cands[j] })
	for _, o := range cands {
		if u := wall.Add(-o); offsetAt(u) == o {
			return u
		}
	}
	// In the gap: read the wall with the offset before the change, which moves it forward.
	return wall.Add(-offsetAt(wall.Add(-cands[len(cands)-1])))
}
