package schedimport

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ICalOptions bound an iCalendar import.
type ICalOptions struct {
	// From and To are the window: only instances starting in [From, To) are imported.
	From, To time.Time
	// DefaultZone reads floating times when the file has no X-WR-TIMEZONE; nil means
	// Europe/London.
	DefaultZone *time.Location
}

// prop is one content line: NAME;PARAM=V:VALUE. Its strings are slices of the file.
type prop struct {
	line   int
	name   string
	params string // ";PARAM=V...:" as written, checked; read by param
	value  string
}

// param is the first value of the parameter name (upper case), or "".
func (p *prop) param(name string) string {
	var v string
	eachParam(p.params, p.name, p.line, func(n, value string) bool { //nolint:errcheck // checked when read
		if n == name {
			v = value
			return false
		}
		return true
	})
	return v
}

// keptProps are the properties an import reads; the others are checked and dropped, so a
// file's unread lines (DESCRIPTION, X-...) cost no memory.
func keptProp(name string) bool {
	switch name {
	case "X-WR-TIMEZONE", "METHOD", "TZID", "UID", "RECURRENCE-ID", "DTSTART", "DTEND", "DURATION", "STATUS",
		"ORGANIZER", "X-CAREBOOTH-DEVICE", "ATTENDEE", "LOCATION", "SUMMARY", "RRULE", "RDATE", "EXDATE",
		"TZOFFSETFROM", "TZOFFSETTO":
		return true
	}
	return false
}

// keptComponent says whether an import reads a component inside parent: events and time
// zones in a calendar, and a time zone's observances. Alarms, to-dos and the like are
// checked for nesting and dropped.
func keptComponent(parent, name string) bool {
	switch parent {
	case "VCALENDAR":
		return name == "VEVENT" || name == "VTIMEZONE"
	case "VTIMEZONE":
		return name == "STANDARD" || name == "DAYLIGHT"
	}
	return false
}

// component is a BEGIN/END block.
type component struct {
	name  string
	line  int
	props []prop
	subs  []*component
}

func (c *component) get(name string) *prop {
	for i := range c.props {
		if c.props[i].name == name {
			return &c.props[i]
		}
	}
	return nil
}

func (c *component) all(name string) []*prop {
	var out []*prop
	for i := range c.props {
		if c.props[i].name == name {
			out = append(out, &c.props[i])
		}
	}
	return out
}

func (c *component) text(name string) string {
	if p := c.get(name); p != nil {
		return unescapeText(p.value)
	}
	return ""
}

// parseICalComponents unfolds and parses the content lines and checks that BEGIN and END
// nest. It returns the top-level components.
func parseICalComponents(data []byte) ([]*component, error) {
	if !utf8.Valid(data) {
		line := bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n")) + 1
		return nil, &Error{Line: line, Msg: "not UTF-8 text: save the calendar as UTF-8"}
	}
	s := string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var tops []*component
	// open is a component being read; c is nil for one the import does not read.
	type open struct {
		name string
		line int
		c    *component
	}
	var stack []open
	pos, lineNo := 0, 0
	// physical takes the next physical line, without its line ending.
	physical := func() string {
		var l string
		if end := strings.IndexByte(s[pos:], '\n'); end >= 0 {
			l, pos = s[pos:pos+end], pos+end+1
		} else {
			l, pos = s[pos:], len(s)
		}
		lineNo++
		return strings.TrimSuffix(l, "\r")
	}
	folded := func() bool { return pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') }
	for pos < len(s) {
		line := physical()
		start := lineNo
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, &Error{Line: start, Msg: "a folded continuation line with no line before it to continue"}
		}
		if folded() {
			var sb strings.Builder
			sb.WriteString(line)
			for folded() {
				sb.WriteString(physical()[1:])
			}
			line = sb.String()
		}
		p, err := parseContentLine(line, start)
		if err != nil {
			return nil, err
		}
		switch p.name {
		case "BEGIN":
			name := strings.ToUpper(p.value)
			if !validName(name) {
				return nil, &Error{Line: p.line, Msg: fmt.Sprintf("BEGIN:%s is not a component name", clip(p.value))}
			}
			if len(stack) == 0 && name != "VCALENDAR" {
				return nil, &Error{Line: p.line, Msg: fmt.Sprintf("BEGIN:%s outside a VCALENDAR: is this an iCalendar (.ics) file?", clip(name))}
			}
			if len(stack) > 8 {
				return nil, &Error{Line: p.line, Msg: "components are nested too deeply"}
			}
			o := open{name: name, line: p.line}
			if len(stack) == 0 {
				o.c = &component{name: name, line: p.line}
				tops = append(tops, o.c)
			} else if parent := stack[len(stack)-1].c; parent != nil && keptComponent(parent.name, name) {
				o.c = &component{name: name, line: p.line}
				parent.subs = append(parent.subs, o.c)
			}
			stack = append(stack, o)
		case "END":
			name := strings.ToUpper(p.value)
			if len(stack) == 0 {
				return nil, &Error{Line: p.line, Msg: fmt.Sprintf("END:%s with no BEGIN", clip(name))}
			}
			if top := stack[len(stack)-1]; top.name != name {
				return nil, &Error{Line: p.line, Msg: fmt.Sprintf("END:%s, but the open component is %s (from line %d)", clip(name), top.name, top.line)}
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return nil, &Error{Line: p.line, Msg: fmt.Sprintf("%s outside a VCALENDAR", clip(p.name))}
			}
			if c := stack[len(stack)-1].c; c != nil && keptProp(p.name) {
				c.props = append(c.props, p)
			}
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return nil, &Error{Line: strings.Count(s, "\n") + 1, Msg: fmt.Sprintf("the file ends inside %s (from line %d): it is cut short", top.name, top.line)}
	}
	if len(tops) == 0 {
		return nil, &Error{Line: 1, Msg: "no BEGIN:VCALENDAR: is this an iCalendar (.ics) file?"}
	}
	return tops, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// parseContentLine parses name *(";" param) ":" value (RFC 5545 section 3.1).
func parseContentLine(s string, line int) (prop, error) {
	i := strings.IndexAny(s, ";:")
	if i <= 0 {
		return prop{}, &Error{Line: line, Msg: fmt.Sprintf("%q is not a content line (NAME:VALUE)", clip(s))}
	}
	p := prop{line: line, name: strings.ToUpper(s[:i])}
	if !validName(p.name) {
		return prop{}, &Error{Line: line, Msg: fmt.Sprintf("%q is not a property name", clip(s[:i]))}
	}
	rest, err := eachParam(s[i:], p.name, line, nil)
	if err != nil {
		return prop{}, err
	}
	p.params = s[i : len(s)-len(rest)+1]
	p.value = rest[1:]
	return p, nil
}

// eachParam reads the parameters at the start of rest (";NAME=V,V;NAME=V:..."), calling fn
// (if not nil) with each name in upper case and each value until it returns false, and
// returns rest from the ':' before the property's value.
func eachParam(rest, propName string, line int, fn func(name, value string) bool) (string, error) {
	for rest != "" && rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || !validName(rest[:eq]) {
			return "", &Error{Line: line, Msg: fmt.Sprintf("%s has a malformed parameter (want NAME=VALUE)", propName)}
		}
		pname := strings.ToUpper(rest[:eq])
		rest = rest[eq+1:]
		for {
			var v string
			if strings.HasPrefix(rest, `"`) {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return "", &Error{Line: line, Msg: fmt.Sprintf("%s parameter %s has an unclosed quote", propName, pname)}
				}
				v, rest = rest[1:1+end], rest[end+2:]
			} else {
				end := strings.IndexAny(rest, ",;:")
				if end < 0 {
					return "", &Error{Line: line, Msg: fmt.Sprintf("%s has no ':' before its value", propName)}
				}
				v, rest = rest[:end], rest[end:]
			}
			if fn != nil && !fn(pname, v) {
				return rest, nil
			}
			if rest == "" {
				return "", &Error{Line: line, Msg: fmt.Sprintf("%s has no ':' before its value", propName)}
			}
			if rest[0] != ',' {
				break
			}
			rest = rest[1:]
		}
	}
	if rest == "" || rest[0] != ':' {
		return "", &Error{Line: line, Msg: fmt.Sprintf("%s has no ':' before its value", propName)}
	}
	return rest, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ParseICal reads an iCalendar file's VEVENTs into entries, expanding recurring events over
// the window. Everything is checked before anything is returned. The work and memory an
// import takes are bounded whatever the file: a file that would hold more than MaxEntries
// appointments, a series with more than maxSeriesInstances instances in the window, or
// rules that take more than maxExpandWork steps to expand are refused as soon as that is
// known, naming the event.
func ParseICal(data []byte, opt ICalOptions) (*Batch, error) {
	if !opt.To.After(opt.From) {
		return nil, fmt.Errorf("import window: to %s is not after from %s", opt.To, opt.From)
	}
	if opt.DefaultZone == nil {
		london, err := time.LoadLocation("Europe/London")
		if err != nil {
			return nil, fmt.Errorf("load the Europe/London time zone: %w", err)
		}
		opt.DefaultZone = london
	}
	tops, err := parseICalComponents(data)
	if err != nil {
		return nil, err
	}
	b := &Batch{Format: "ical"}
	w := &work{left: maxExpandWork}
	for _, cal := range tops {
		if err := icalCalendar(cal, opt, w, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// zones resolves TZIDs for one VCALENDAR.
type zones struct {
	defs     map[string]*component // VTIMEZONE by TZID
	resolved map[string]zone
	floating zone
	work     *work // the parse's, shared with time zones' rules
}

func (z *zones) lookup(p *prop) (zone, error) {
	tzid := p.param("TZID")
	if tzid == "" {
		if strings.HasSuffix(p.value, "Z") {
			return utcZone{}, nil
		}
		return z.floating, nil
	}
	if zz, ok := z.resolved[tzid]; ok {
		return zz, nil
	}
	zz, err := resolveTZID(tzid, z.defs[tzid], z.work)
	var inZone *Error
	switch {
	case errors.As(err, &inZone): // a fault of the VTIMEZONE, which names its line
		return nil, inZone
	case err != nil:
		return nil, &Error{Line: p.line, Msg: fmt.Sprintf("%s: %v", p.name, err)}
	}
	z.resolved[tzid] = zz
	return zz, nil
}

func icalCalendar(cal *component, opt ICalOptions, w *work, b *Batch) error {
	z := &zones{defs: map[string]*component{}, resolved: map[string]zone{}, floating: ianaZone{opt.DefaultZone}, work: w}
	if p := cal.get("X-WR-TIMEZONE"); p != nil {
		loc, err := loadLocation(unescapeText(p.value))
		if err != nil {
			return &Error{Line: p.line, Msg: fmt.Sprintf("X-WR-TIMEZONE %q is not a time zone name such as Europe/London", p.value)}
		}
		z.floating = ianaZone{loc}
	}
	methodCancel := strings.EqualFold(cal.text("METHOD"), "CANCEL")
	for _, c := range cal.subs {
		if c.name == "VTIMEZONE" {
			id := c.text("TZID")
			if id == "" {
				return &Error{Line: c.line, Msg: "VTIMEZONE without a TZID"}
			}
			z.defs[id] = c
		}
	}
	type group struct {
		master    *component
		overrides []*component
	}
	groups := map[string]*group{}
	var order []string
	for _, c := range cal.subs {
		if c.name != "VEVENT" {
			continue
		}
		uid := c.text("UID")
		if strings.TrimSpace(uid) == "" {
			return &Error{Line: c.line, Msg: "VEVENT without a UID: an import needs one to match the event next time"}
		}
		g := groups[uid]
		if g == nil {
			g = &group{}
			groups[uid] = g
			order = append(order, uid)
		}
		if c.get("RECURRENCE-ID") != nil {
			g.overrides = append(g.overrides, c)
			continue
		}
		if g.master != nil {
			return &Error{Line: c.line, Msg: fmt.Sprintf("UID %q is used by another VEVENT too (line %d)", uid, g.master.line)}
		}
		g.master = c
	}
	for _, uid := range order {
		g := groups[uid]
		if err := icalGroup(uid, g.master, g.overrides, z, methodCancel, opt, b); err != nil {
			return err
		}
		if w.exhausted() { // in a time zone's rules
			c := g.master
			if c == nil {
				c = g.overrides[0]
			}
			return &Error{Line: c.line, Msg: tooMuchWork("VEVENT " + seriesName(uid, c) + " and its time zone")}
		}
	}
	return nil
}

// icalEvent is one VEVENT's times and people, read and checked.
type icalEvent struct {
	c         *component
	start     time.Time // instant
	startWall time.Time // wall clock in the event's zone, as a UTC time
	zone      zone
	allDay    bool
	dur       time.Duration
	noEnd     bool
	cancelled bool
	patient   string
	why       string // cannot be imported, if set
	refs      []string
}

func readEvent(c *component, z *zones, methodCancel bool) (*icalEvent, error) {
	ev := &icalEvent{c: c}
	dt := c.get("DTSTART")
	if dt == nil {
		return nil, &Error{Line: c.line, Msg: "VEVENT without DTSTART"}
	}
	wall, allDay, err := parseDateTime(dt)
	if err != nil {
		return nil, err
	}
	ev.allDay, ev.startWall = allDay, wall
	if ev.zone, err = z.lookup(dt); err != nil {
		return nil, err
	}
	ev.start = ev.zone.instant(wall)
	switch end, dur := c.get("DTEND"), c.get("DURATION"); {
	case end != nil && dur != nil:
		return nil, &Error{Line: dur.line, Msg: "VEVENT has both DTEND and DURATION: keep one"}
	case end != nil:
		ew, endAllDay, err := parseDateTime(end)
		if err != nil {
			return nil, err
		}
		if endAllDay != allDay {
			return nil, &Error{Line: end.line, Msg: "DTEND is a DATE and DTSTART a DATE-TIME, or the other way round: they must be the same kind"}
		}
		ez, err := z.lookup(end)
		if err != nil {
			return nil, err
		}
		ev.dur = ez.instant(ew).Sub(ev.start)
		if ev.dur < 0 {
			return nil, &Error{Line: end.line, Msg: "DTEND is before DTSTART"}
		}
	case dur != nil:
		d, err := parseDuration(dur.value)
		if err != nil {
			return nil, &Error{Line: dur.line, Msg: fmt.Sprintf("DURATION %q: %v", dur.value, err)}
		}
		ev.dur = d
	default:
		ev.noEnd = true
	}
	if s := c.get("STATUS"); s != nil {
		switch v := strings.ToUpper(s.value); v {
		case "CANCELLED":
			ev.cancelled = true
		case "CONFIRMED", "TENTATIVE", "":
		default:
			return nil, &Error{Line: s.line, Msg: fmt.Sprintf("STATUS %q is not a VEVENT status (CONFIRMED, TENTATIVE, CANCELLED)", s.value)}
		}
	}
	ev.cancelled = ev.cancelled || methodCancel

	organizer := ""
	if o := c.get("ORGANIZER"); o != nil {
		organizer = strings.ToLower(o.value)
	}
	if p := c.get("X-CAREBOOTH-DEVICE"); p != nil {
		ev.refs = addUnique(ev.refs, unescapeText(p.value))
	}
	for _, a := range c.all("ATTENDEE") {
		switch strings.ToUpper(a.param("CUTYPE")) {
		case "ROOM", "RESOURCE":
			ev.refs = addUnique(ev.refs, a.param("CN"))
			ev.refs = addUnique(ev.refs, mailboxName(a.value))
		case "", "INDIVIDUAL":
			if ev.patient == "" && strings.ToUpper(a.param("ROLE")) != "CHAIR" && strings.ToLower(a.value) != organizer {
				ev.patient = a.param("CN")
			}
		}
	}
	if loc := c.text("LOCATION"); loc != "" {
		ev.refs = addUnique(ev.refs, loc)
	}
	if ev.patient == "" {
		ev.patient = c.text("SUMMARY")
	}
	name, why := cleanName(ev.patient)
	ev.patient = name
	switch {
	case ev.allDay:
		ev.why = "all-day event: a consultation needs a start time"
	case ev.noEnd:
		ev.why = "no DTEND or DURATION: the length of the consultation is unknown"
	case ev.dur > 0 && checkTimes(ev.start, ev.start.Add(ev.dur)) != "":
		ev.why = checkTimes(ev.start, ev.start.Add(ev.dur))
	case ev.dur == 0:
		ev.why = "lasts no time (DTEND equals DTSTART)"
	case why != "" && !ev.cancelled:
		ev.why = why + " (ATTENDEE CN or SUMMARY)"
	}
	return ev, nil
}

func mailboxName(calAddress string) string {
	v := calAddress
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	local, _, _ := strings.Cut(v, "@")
	return local
}

func icalGroup(uid string, master *component, overrides []*component, z *zones, methodCancel bool, opt ICalOptions, b *Batch) error {
	type instance struct {
		ev      *icalEvent
		start   time.Time // this instance's start
		extID   string
		where   string
		skipWhy string
	}
	var inst []instance
	byRecur := map[int64]int{}
	if master != nil {
		ev, err := readEvent(master, z, methodCancel)
		if err != nil {
			return err
		}
		starts, recurring, err := occurrences(master, ev, z, opt, seriesName(uid, master), roomFor(ev, b, opt))
		if err != nil {
			return err
		}
		if !recurring {
			inst = append(inst, instance{ev: ev, start: ev.start, extID: "ical:" + uid, where: fmt.Sprintf("line %d", master.line)})
		} else {
			for _, s := range starts {
				byRecur[s.Unix()] = len(inst)
				inst = append(inst, instance{ev: ev, start: s, extID: "ical:" + uid + "/" + s.UTC().Format("20060102T150405Z"), where: fmt.Sprintf("line %d", master.line)})
			}
		}
	}
	for _, o := range overrides {
		rp := o.get("RECURRENCE-ID")
		rw, _, err := parseDateTime(rp)
		if err != nil {
			return err
		}
		rz, err := z.lookup(rp)
		if err != nil {
			return err
		}
		rid := rz.instant(rw)
		ev, err := readEvent(o, z, methodCancel)
		if err != nil {
			return err
		}
		in := instance{ev: ev, start: ev.start, extID: "ical:" + uid + "/" + rid.UTC().Format("20060102T150405Z"), where: fmt.Sprintf("line %d", o.line)}
		if i, ok := byRecur[rid.Unix()]; ok {
			inst[i] = in
		} else if master == nil || inWindow(ev.start, opt) || inWindow(rid, opt) {
			inst = append(inst, in)
		}
	}
	seen := map[string]bool{}
	for _, in := range inst {
		if seen[in.extID] {
			return &Error{Line: in.ev.c.line, Msg: fmt.Sprintf("RECURRENCE-ID repeats an instance of UID %q", uid)}
		}
		seen[in.extID] = true
		if !inWindow(in.start, opt) {
			b.OutsideWindow++
			continue
		}
		if in.ev.why != "" {
			if len(b.Skipped) >= MaxEntries {
				return &Error{Line: in.ev.c.line, Msg: "VEVENT " + seriesName(uid, in.ev.c) + " " + tooManySkipped(in.ev.why)}
			}
			b.Skipped = append(b.Skipped, Skip{ExternalID: in.extID, Where: in.where, Reason: in.ev.why})
			continue
		}
		if len(b.Entries) >= MaxEntries {
			return &Error{Line: in.ev.c.line, Msg: "VEVENT " + seriesName(uid, in.ev.c) + " " + tooManyEntries()}
		}
		b.Entries = append(b.Entries, Entry{
			ExternalID: in.extID, Where: in.where, Patient: in.ev.patient, DeviceRefs: in.ev.refs,
			Start: in.start.UTC(), End: in.start.Add(in.ev.dur).UTC(), Cancelled: in.ev.cancelled,
		})
	}
	return nil
}

func inWindow(t time.Time, opt ICalOptions) bool { return !t.Before(opt.From) && t.Before(opt.To) }

// parseDateTime reads a DATE-TIME or DATE value as a wall clock (in UTC's location).
func parseDateTime(p *prop) (time.Time, bool, error) {
	v := strings.TrimSpace(p.value)
	if strings.EqualFold(p.param("VALUE"), "DATE") || len(v) == 8 {
		t, err := time.Parse("20060102", v)
		if err != nil {
			return t, true, &Error{Line: p.line, Msg: fmt.Sprintf("%s %q is not a DATE such as 20261123", p.name, clip(v))}
		}
		return t, true, checkYear(p, t)
	}
	t, err := time.Parse("20060102T150405", strings.TrimSuffix(v, "Z"))
	if err != nil {
		return t, false, &Error{Line: p.line, Msg: fmt.Sprintf("%s %q is not a DATE-TIME such as 20261123T093000 (with Z for UTC, or a TZID parameter)", p.name, clip(v))}
	}
	if err := checkYear(p, t); err != nil {
		return t, false, err
	}
	if strings.HasSuffix(v, "Z") && p.param("TZID") != "" {
		return t, false, &Error{Line: p.line, Msg: fmt.Sprintf("%s has both a TZID and a UTC time (Z): keep one", p.name)}
	}
	return t, false, nil
}

// checkYear refuses dates no calendar means (VTIMEZONE rules from Outlook start in 1601).
func checkYear(p *prop, t time.Time) error {
	if y := t.Year(); y < 1600 || y > 2999 {
		return &Error{Line: p.line, Msg: fmt.Sprintf("%s is in the year %d", p.name, y)}
	}
	return nil
}

// parseDuration reads an RFC 5545 DURATION such as PT20M, PT1H30M or P1D.
func parseDuration(s string) (time.Duration, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	if strings.HasPrefix(v, "-") {
		return 0, fmt.Errorf("a negative duration")
	}
	v = strings.TrimPrefix(v, "+")
	if !strings.HasPrefix(v, "P") || len(v) < 3 {
		return 0, fmt.Errorf("want a duration such as PT20M")
	}
	v = v[1:]
	var d time.Duration
	inTime := false
	num := ""
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			num += string(r)
			continue
		case r == 'T' && num == "" && !inTime:
			inTime = true
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n > 1<<20 {
			return 0, fmt.Errorf("want a duration such as PT20M")
		}
		num = ""
		unit := map[rune]time.Duration{'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour}
		if inTime {
			unit = map[rune]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}
		}
		u, ok := unit[r]
		if !ok {
			return 0, fmt.Errorf("want a duration such as PT20M")
		}
		d += time.Duration(n) * u
	}
	if num != "" {
		return 0, fmt.Errorf("want a duration such as PT20M")
	}
	return d, nil
}
