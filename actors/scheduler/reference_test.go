package scheduler

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// referenceRuns computes a calendar job's runs in [from, to) minute by
// minute, straight from the rules in the package documentation: wall-clock
// matches, first occurrence only for fixed-hour jobs, and a run at the jump
// for fixed-hour times the clocks skipped.
func referenceRuns(spec string, loc *time.Location, from, to time.Time) []time.Time {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		panic(err)
	}
	cs := newCalSpec(s.(*cron.SpecSchedule), loc)
	matches := func(w time.Time) bool {
		c := civil{y: w.Year(), m: int(w.Month()), d: w.Day(), wd: int(w.Weekday())}
		return cs.month&(1<<uint(c.m)) != 0 && cs.dayMatches(c) &&
			cs.hour&(1<<uint(w.Hour())) != 0 && cs.minute&(1<<uint(w.Minute())) != 0
	}
	var out []time.Time
	for t := from.Truncate(time.Minute); t.Before(to); t = t.Add(time.Minute) {
		w := t.In(loc)
		prev := t.Add(-time.Minute).In(loc)
		run := false
		if matches(w) {
			run = true
			if !cs.everyHour {
				// not a repeat of a wall time seen in the last three hours
				for k := 1; k <= 180; k++ {
					e := t.Add(-time.Duration(k) * time.Minute).In(loc)
					if e.Hour() == w.Hour() && e.Minute() == w.Minute() && e.Day() == w.Day() {
						run = false
						break
					}
				}
			}
		}
		if !run && !cs.everyHour {
			// the clocks jumped forward at t: did they skip a matching time?
			_, offPrev := prev.Zone()
			_, offNow := w.Zone()
			if offNow > offPrev {
				asUTC := func(x time.Time) time.Time {
					return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), 0, 0, time.UTC)
				}
				for sk := asUTC(prev).Add(time.Minute); sk.Before(asUTC(w)); sk = sk.Add(time.Minute) {
					if matches(sk) {
						run = true
						break
					}
				}
			}
		}
		if run {
			out = append(out, t)
		}
	}
	return out
}

// transitions finds the zone changes of loc in year.
func transitions(loc *time.Location, year int) []time.Time {
	var out []time.Time
	t := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	end := t.AddDate(1, 0, 0)
	for t.Before(end) {
		_, e := t.ZoneBounds()
		if e.IsZero() || !e.Before(end) {
			break
		}
		out = append(out, e)
		t = e
	}
	return out
}

// TestNextMatchesReference checks next runs against the minute-by-minute
// reference around every 2026 transition of zones with 1 h and 30 min DST
// steps, for fixed-hour and every-hour expressions.
func TestNextMatchesReference(t *testing.T) {
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Sao_Paulo", "Europe/Istanbul"}
	specs := []string{"30 2 * * *", "*/15 * * * *", "0,30 1-3 * * *", "45 1 * * 0", "@hourly", "15 2 1-31 * *", "* 2 * * *", "0 0 * * *", "59 23 * * *"}
	for _, zone := range zones {
		loc := mustLoc(t, zone)
		trs := transitions(loc, 2026)
		if len(trs) == 0 {
			trs = []time.Time{time.Date(2026, 3, 29, 0, 0, 0, 0, loc)} // no DST: an ordinary stretch
		}
		for _, tr := range trs {
			from, to := tr.Add(-36*time.Hour), tr.Add(36*time.Hour)
			for _, spec := range specs {
				t.Run(zone+"/"+tr.Format("01-02")+"/"+spec, func(t *testing.T) {
					want := referenceRuns(spec, loc, from, to)
					s, err := parseCron(spec, loc)
					if err != nil {
						t.Fatal(err)
					}
					got := runsBetween(s, from, to)
					if g, w := fmtTimes(got, loc), fmtTimes(want, loc); !equalStrings(g, w) {
						t.Fatalf("ours %v\nreference %v", g, w)
					}
				})
			}
		}
	}
}
