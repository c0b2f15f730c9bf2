package schedimport

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds of an iCalendar import's recurrences. A file is refused, naming the series and
// the line, as soon as one is passed: expansion never builds more than they allow, so what
// an import costs depends on these numbers, not on how its rules are written.
const (
	// maxSeriesInstances bounds one recurring event's instances in the import window; an
	// hourly event round the clock over the longest window (400 days) has 9,600.
	maxSeriesInstances = 10000
	// maxExpandWork bounds the steps (periods, days and instances looked at, RDATE and
	// EXDATE values, time zone rules) that expanding a whole file may take: about 0.2 s of
	// CPU. A weekly series costs about 8 steps a week of the window, a yearly one a step a
	// day of its months; with COUNT, from DTSTART rather than from the window.
	maxExpandWork = 10_000_000
)

// seriesRoom is how many instances in the window a series may still have, and what to say
// when it has more.
type seriesRoom struct {
	n   int
	why string
}

// roomFor is the room the series of ev has in b: its own bound, or what is left of the
// import's.
func roomFor(ev *icalEvent, b *Batch, opt ICalOptions) seriesRoom {
	room := seriesRoom{maxSeriesInstances, fmt.Sprintf("has more than %d instances in the import window (%s to %s), more than any booth's series: narrow the window, or check the rule",
		maxSeriesInstances, opt.From.Format(time.DateOnly), opt.To.Format(time.DateOnly))}
	switch {
	case ev.why == "" && MaxEntries-len(b.Entries) < room.n:
		room = seriesRoom{MaxEntries - len(b.Entries), tooManyEntries()}
	case ev.why != "" && MaxEntries-len(b.Skipped) < room.n:
		room = seriesRoom{MaxEntries - len(b.Skipped), tooManySkipped(ev.why)}
	}
	return room
}

func tooManyEntries() string {
	return fmt.Sprintf("takes the import window past %d appointments: import at most %d at a time (narrow the window)", MaxEntries, MaxEntries)
}

func tooManySkipped(why string) string {
	return fmt.Sprintf("takes the import window past %d events that cannot be imported (%s): correct them, or narrow the window", MaxEntries, why)
}

func tooMuchWork(what string) string {
	return fmt.Sprintf("%s: expanding the file's recurring events takes more than %d steps, most likely because of this rule (a COUNT with a DTSTART long before the window, or a rule that rarely matches): move DTSTART nearer the window, or split the file", what, maxExpandWork)
}

// seriesName names a VEVENT for people: its UID, and its SUMMARY if it has one.
func seriesName(uid string, c *component) string {
	if s := strings.TrimSpace(c.text("SUMMARY")); s != "" {
		return fmt.Sprintf("UID %q (%s)", clip(uid), clip(s))
	}
	return fmt.Sprintf("UID %q", clip(uid))
}

// occurrences expands RRULE, RDATE and EXDATE. Recurrence is computed on wall-clock time in
// the event's zone, as RFC 5545 requires, so a weekly 09:30 stays at 09:30 across a change
// of summer time. It returns the instance starts in the window, at most room.n of them,
// and whether the event recurs at all.
func occurrences(c *component, ev *icalEvent, z *zones, opt ICalOptions, name string, room seriesRoom) ([]time.Time, bool, error) {
	rules, rdates, exdates := c.all("RRULE"), c.all("RDATE"), c.all("EXDATE")
	if len(rules) == 0 && len(rdates) == 0 {
		return nil, false, nil
	}
	if len(rules) > 1 {
		return nil, true, &Error{Line: rules[1].line, Msg: "more than one RRULE in a VEVENT: split the event"}
	}
	if ev.allDay {
		return nil, true, nil // skipped whole; no need to expand
	}
	var starts []time.Time
	have := map[int64]bool{} // by Unix second; every time here is in whole seconds
	add := func(t time.Time, p *prop) error {
		if !inWindow(t, opt) || have[t.Unix()] {
			return nil
		}
		if len(starts) >= room.n {
			return &Error{Line: p.line, Msg: fmt.Sprintf("%s of %s %s", p.name, name, room.why)}
		}
		have[t.Unix()] = true
		starts = append(starts, t)
		return nil
	}
	if len(rules) == 1 {
		rp := rules[0]
		refuse := func(msg string) error {
			return &Error{Line: rp.line, Msg: fmt.Sprintf("RRULE %q of %s: %s", clip(rp.value), name, msg)}
		}
		parts, err := readRRule(rp.value)
		if err != nil {
			return nil, true, refuse(err.Error())
		}
		if parts.freq > hourly {
			return nil, true, refuse("repeats every second or minute: that is not an appointment schedule")
		}
		r, err := parts.rule(ev.startWall)
		if err != nil {
			return nil, true, refuse(err.Error())
		}
		// Walk the walls with a day's margin either side: no zone is more than 14 h off UTC.
		lo, hi := opt.From.Add(-26*time.Hour), opt.To.Add(26*time.Hour)
		if parts.untilUTC && parts.until.Add(26*time.Hour).Before(hi) {
			hi = parts.until.Add(26 * time.Hour)
		}
		var addErr error
		err = r.expand(lo, hi, z.work, func(wall time.Time) bool {
			t := ev.zone.instant(wall)
			if parts.untilUTC && t.After(parts.until) {
				return false
			}
			addErr = add(t, rp)
			return addErr == nil
		})
		switch {
		case addErr != nil:
			return nil, true, addErr
		case errors.Is(err, errTooMuchWork):
			return nil, true, &Error{Line: rp.line, Msg: tooMuchWork("RRULE of " + name)}
		}
	}
	if err := add(ev.start, c.get("DTSTART")); err != nil { // DTSTART is always the first instance
		return nil, true, err
	}
	for _, rp := range rdates {
		if strings.EqualFold(rp.param("VALUE"), "PERIOD") {
			return nil, true, &Error{Line: rp.line, Msg: "RDATE;VALUE=PERIOD is not supported: give start times"}
		}
		if err := eachDate(rp, z, func(t time.Time) error { return add(t, rp) }); err != nil {
			return nil, true, err
		}
	}
	for _, xp := range exdates {
		if err := eachDate(xp, z, func(t time.Time) error { delete(have, t.Unix()); return nil }); err != nil {
			return nil, true, err
		}
	}
	starts = slices.DeleteFunc(starts, func(s time.Time) bool { return !have[s.Unix()] })
	slices.SortFunc(starts, time.Time.Compare)
	for i := range starts {
		starts[i] = starts[i].UTC()
	}
	return starts, true, nil
}

// eachDate calls fn with each value of a comma-separated RDATE or EXDATE, as an instant.
func eachDate(p *prop, z *zones, fn func(time.Time) error) error {
	zz, err := z.lookup(p)
	if err != nil {
		return err
	}
	for rest := p.value; ; {
		v, more, comma := strings.Cut(rest, ",")
		if !z.work.spend(1) {
			return &Error{Line: p.line, Msg: tooMuchWork(p.name)}
		}
		q := *p
		q.value = strings.TrimSpace(v)
		w, _, err := parseDateTime(&q)
		if err != nil {
			return err
		}
		at := zz
		if strings.HasSuffix(q.value, "Z") {
			at = utcZone{}
		}
		if err := fn(at.instant(w)); err != nil {
			return err
		}
		if !comma {
			return nil
		}
		rest = more
	}
}
