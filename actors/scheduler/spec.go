package scheduler

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// This file computes run times. robfig/cron/v3 parses the expressions; the
// next-run computation is ours, because cron's SpecSchedule.Next walks the
// local clock hour by hour and so skips a run whose time falls in the
// spring-forward gap and runs twice one whose time falls in the repeated
// fall-back hour (see the package documentation and spec_test.go).
//
// Rules, as Vixie cron and cronie apply them:
//   - A job whose hour field matches every hour ("*", "0-23", @hourly) keeps
//     its cadence in elapsed time: a wall time that does not exist is
//     skipped, one that occurs twice runs twice.
//   - Any other job (fixed hours, "at", the trading window's boundaries) runs
//     once per day per matching wall time: in the gap it runs when the gap
//     ends (the transition instant), and in the repeated hour it runs at the
//     first occurrence only.

// cronParser accepts the standard 5 fields and descriptors (@daily, @every 1h).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// schedule yields run times.
type schedule interface {
	// next returns the first run strictly after t, or the zero time if
	// there is none within the search horizon.
	next(t time.Time) time.Time
}

// starBit is robfig/cron's marker for a field written "*".
const starBit = 1 << 63

// calSpec is a calendar schedule: robfig's parsed fields, read in loc.
type calSpec struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
	everyHour                     bool
	loc                           *time.Location
}

// everySpec is "@every d": a constant delay, immune to DST.
type everySpec struct{ d time.Duration }

func (s everySpec) next(t time.Time) time.Time {
	return t.Add(s.d - time.Duration(t.Nanosecond()))
}

// parseCron parses a 5-field expression or descriptor into a schedule in loc.
func parseCron(expr string, loc *time.Location) (schedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("time zone prefixes are not supported: set the job's timezone key")
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	switch s := s.(type) {
	case *cron.SpecSchedule:
		return newCalSpec(s, loc), nil
	case cron.ConstantDelaySchedule:
		if s.Delay < time.Second {
			return nil, fmt.Errorf("@every needs at least 1s, got %s", s.Delay)
		}
		return everySpec{d: s.Delay}, nil
	default:
		return nil, fmt.Errorf("unsupported schedule %T", s)
	}
}

func newCalSpec(s *cron.SpecSchedule, loc *time.Location) *calSpec {
	const allHours = 1<<24 - 1
	return &calSpec{
		minute:    s.Minute &^ starBit,
		hour:      s.Hour &^ starBit,
		dom:       s.Dom &^ starBit,
		month:     s.Month &^ starBit,
		dow:       s.Dow &^ starBit,
		domStar:   s.Dom&starBit != 0,
		dowStar:   s.Dow&starBit != 0,
		everyHour: s.Hour&allHours == allHours,
		loc:       loc,
	}
}

// atSpec builds the calendar schedule of `at = "HH:MM"` on ISO days (1 =
// Monday ... 7 = Sunday; none means every day).
func atSpec(minuteOfDay int, days []int, loc *time.Location) *calSpec {
	s := &calSpec{
		minute:  1 << uint(minuteOfDay%60),
		hour:    1 << uint(minuteOfDay/60),
		dom:     (1<<32 - 1) &^ 1, // 1..31
		month:   (1<<13 - 1) &^ 1, // 1..12
		domStar: true,
		dowStar: len(days) == 0,
		loc:     loc,
	}
	if len(days) == 0 {
		s.dow = 1<<7 - 1
	}
	for _, d := range days {
		s.dow |= 1 << uint(d%7) // 7 (Sunday) is cron's 0
	}
	return s
}

// horizonDays bounds the search: 0 0 29 2 1 can be years away.
const horizonDays = 366 * 9

func (s *calSpec) dayMatches(day civil) bool {
	domMatch := s.dom&(1<<uint(day.d)) != 0
	dowMatch := s.dow&(1<<uint(day.wd)) != 0
	if s.domStar || s.dowStar {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}

func (s *calSpec) next(t time.Time) time.Time {
	after := t.Unix() // runs fall on whole seconds: c > t <=> c > floor(t)
	_, off := t.In(s.loc).Zone()
	// Start a day early: a run may sit on the previous local date.
	day := epochDay(after+int64(off)) - 1
	for end := day + horizonDays; day < end; day++ {
		c := civilFromDays(day)
		if s.month&(1<<uint(c.m)) == 0 {
			// jump to the 1st of the next month
			day += int64(daysIn(c.y, c.m) - c.d)
			continue
		}
		if !s.dayMatches(c) {
			continue
		}
		if r, ok := s.inDay(day, after); ok {
			return time.Unix(r, 0).In(t.Location())
		}
	}
	return time.Time{}
}

// inDay returns the first run on local day (days since 1970-01-01) after the
// instant after (unix seconds).
func (s *calSpec) inDay(day, after int64) (int64, bool) {
	dayWall := day * 86400
	if off, ok := uniformOffset(s.loc, dayWall); ok {
		for hs := s.hour; hs != 0; hs &= hs - 1 {
			h := int64(bits.TrailingZeros64(hs))
			base := dayWall + h*3600 - int64(off)
			if base+59*60 <= after {
				continue
			}
			for ms := s.minute; ms != 0; ms &= ms - 1 {
				if c := base + int64(bits.TrailingZeros64(ms))*60; c > after {
					return c, true
				}
			}
		}
		return 0, false
	}
	// A day with a zone transition: resolve the slots whose instants can
	// fall after `after`, keep the earliest run.
	_, offA := time.Unix(dayWall-maxZoneOffset, 0).In(s.loc).Zone()
	_, offB := time.Unix(dayWall+86400+maxZoneOffset, 0).In(s.loc).Zone()
	lo, hi := int64(min(offA, offB)), int64(max(offA, offB))
	var best int64
	found := false
	for hs := s.hour; hs != 0; hs &= hs - 1 {
		h := int64(bits.TrailingZeros64(hs))
		if dayWall+h*3600+59*60-lo <= after {
			continue // every instant of this hour is at or before after
		}
		for ms := s.minute; ms != 0; ms &= ms - 1 {
			wall := dayWall + h*3600 + int64(bits.TrailingZeros64(ms))*60
			if wall-lo <= after {
				continue
			}
			if found && wall-hi > best {
				return best, true // later slots only get later
			}
			r := resolveWall(s.loc, wall)
			var cands []int64
			switch {
			case s.everyHour:
				cands = r.inst[:r.n]
			case r.n > 0:
				cands = r.inst[:1]
			default:
				cands = []int64{r.gapEnd}
			}
			for _, c := range cands {
				if c > after && (!found || c < best) {
					best, found = c, true
				}
			}
		}
	}
	return best, found
}

// maxZoneOffset bounds every zone's UTC offset (+14:00, Kiribati) with a margin.
const maxZoneOffset = 15 * 3600

// uniformOffset reports the zone offset of loc when it is the same for the
// whole local day starting at dayWall (local midnight as if it were UTC).
func uniformOffset(loc *time.Location, dayWall int64) (int, bool) {
	t := time.Unix(dayWall-maxZoneOffset, 0).In(loc)
	_, off := t.Zone()
	_, end := t.ZoneBounds()
	if end.IsZero() || end.Unix() > dayWall+86400+maxZoneOffset {
		return off, true
	}
	return 0, false
}

// resolved lists the instants showing a wall time: two in a repeated hour,
// none in a gap (then gapEnd is the instant the clocks jumped).
type resolved struct {
	inst   [2]int64
	n      int
	gapEnd int64
}

// resolveWall maps a local wall time (seconds since 1970-01-01 00:00 local,
// as if local were UTC) to the instants it denotes in loc.
func resolveWall(loc *time.Location, wall int64) resolved {
	var offs [3]int
	n := 0
	for _, probe := range [3]int64{wall - 86400, wall, wall + 86400} {
		_, o := time.Unix(probe, 0).In(loc).Zone()
		dup := false
		for _, x := range offs[:n] {
			dup = dup || x == o
		}
		if !dup {
			offs[n] = o
			n++
		}
	}
	var r resolved
	minOff := offs[0]
	for _, o := range offs[:n] {
		minOff = min(minOff, o)
		inst := wall - int64(o)
		if _, got := time.Unix(inst, 0).In(loc).Zone(); got == o && r.n < 2 {
			r.inst[r.n] = inst
			r.n++
		}
	}
	if r.n == 2 && r.inst[1] < r.inst[0] {
		r.inst[0], r.inst[1] = r.inst[1], r.inst[0]
	}
	if r.n == 0 {
		// wall - minOff lies after the jump; its zone began at the jump.
		start, _ := time.Unix(wall-int64(minOff), 0).In(loc).ZoneBounds()
		r.gapEnd = start.Unix()
		if start.IsZero() {
			r.gapEnd = wall - int64(minOff)
		}
	}
	return r
}

// fixedInstant is the instant a fixed daily wall time denotes on a day: the
// first occurrence, or the end of the gap when it does not exist.
func fixedInstant(loc *time.Location, day int64, minuteOfDay int) int64 {
	r := resolveWall(loc, day*86400+int64(minuteOfDay)*60)
	if r.n > 0 {
		return r.inst[0]
	}
	return r.gapEnd
}

// civil is a proleptic Gregorian date with its weekday (0 = Sunday).
type civil struct{ y, m, d, wd int }

func epochDay(localUnix int64) int64 {
	if localUnix < 0 {
		return (localUnix - 86399) / 86400
	}
	return localUnix / 86400
}

// civilFromDays converts days since 1970-01-01 to a date (H. Hinnant's
// algorithm).
func civilFromDays(z int64) civil {
	wd := int((z%7 + 11) % 7) // 1970-01-01 was a Thursday (4)
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return civil{y: int(y), m: int(m), d: int(d), wd: wd}
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// isoWeekday maps a civil weekday (0 = Sunday) to 1 = Monday ... 7 = Sunday.
func isoWeekday(wd int) int {
	if wd == 0 {
		return 7
	}
	return wd
}

// window is a compiled trading window: [start, stop) local wall time on the
// days it begins, crossing midnight when stop <= start.
type window struct {
	start, stop int     // minutes since midnight
	days        [8]bool // ISO weekday -> opens that day
	loc         *time.Location
}

// windowState is the window seen at one instant.
type windowState struct {
	open      bool
	nextOpen  time.Time // zero when none within a week and a bit
	nextClose time.Time
}

// at reports whether the window is open at t and when it next opens and closes.
func (w *window) at(t time.Time) windowState {
	now := t.Unix()
	_, off := t.In(w.loc).Zone()
	today := epochDay(now + int64(off))
	var st windowState
	var openU, closeU int64
	for day := today - 2; day <= today+8; day++ {
		c := civilFromDays(day)
		if !w.days[isoWeekday(c.wd)] {
			continue
		}
		o := fixedInstant(w.loc, day, w.start)
		closeDay := day
		if w.stop <= w.start {
			closeDay++
		}
		cl := fixedInstant(w.loc, closeDay, w.stop)
		if o >= cl {
			continue // the window vanished in a DST gap
		}
		if o <= now && now < cl {
			st.open = true
			closeU = cl
		}
		if o > now && openU == 0 {
			openU = o
		}
		if cl > now && closeU == 0 {
			closeU = cl
		}
	}
	if openU != 0 {
		st.nextOpen = time.Unix(openU, 0).In(t.Location())
	}
	if closeU != 0 {
		st.nextClose = time.Unix(closeU, 0).In(t.Location())
	}
	return st
}
