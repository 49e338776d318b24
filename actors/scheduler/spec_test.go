package scheduler

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// runsBetween lists the runs of s in [from, to).
func runsBetween(s schedule, from, to time.Time) []time.Time {
	var out []time.Time
	for t := s.next(from.Add(-time.Second)); !t.IsZero() && t.Before(to); t = s.next(t) {
		out = append(out, t)
	}
	return out
}

func fmtTimes(ts []time.Time, loc *time.Location) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(loc).Format("01-02 15:04 MST")
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// 2026 transitions: Berlin 03-29 02:00 CET -> 03:00 CEST and 10-25 03:00
// CEST -> 02:00 CET; New York 03-08 02:00 EST -> 03:00 EDT and 11-01 02:00
// EDT -> 01:00 EST.

// TestRobfigNextOnDSTDays records what robfig/cron/v3's SpecSchedule.Next
// does on DST days, the reason the scheduler computes next runs itself.
func TestRobfigNextOnDSTDays(t *testing.T) {
	cases := []struct {
		name, zone, spec string
		day              time.Time // a local date; runs listed from its midnight for 24h
		want             []string
	}{
		{"berlin spring 02:30 is skipped", "Europe/Berlin", "30 2 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), nil},
		{"berlin fall 02:30 runs twice", "Europe/Berlin", "30 2 * * *", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), []string{"10-25 02:30 CEST", "10-25 02:30 CET"}},
		{"new york spring 02:30 is skipped", "America/New_York", "30 2 * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), nil},
		{"new york fall 01:30 runs twice", "America/New_York", "30 1 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []string{"11-01 01:30 EDT", "11-01 01:30 EST"}},
		{"new york fall 02:30 runs once", "America/New_York", "30 2 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []string{"11-01 02:30 EST"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			s, err := cron.ParseStandard(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			s.(*cron.SpecSchedule).Location = loc
			from := time.Date(tc.day.Year(), tc.day.Month(), tc.day.Day(), 0, 0, 0, 0, loc)
			to := from.AddDate(0, 0, 1)
			var got []time.Time
			for n := s.Next(from.Add(-time.Second)); n.Before(to); n = s.Next(n) {
				got = append(got, n)
			}
			if g := fmtTimes(got, loc); !equalStrings(g, tc.want) {
				t.Fatalf("robfig runs = %v, want %v", g, tc.want)
			}
		})
	}
}

func TestNextOnDSTDays(t *testing.T) {
	cases := []struct {
		name, zone, spec string
		day              time.Time
		want             []string
	}{
		{"berlin spring 02:30 runs once at the jump", "Europe/Berlin", "30 2 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), []string{"03-29 03:00 CEST"}},
		{"berlin fall 02:30 runs once, first occurrence", "Europe/Berlin", "30 2 * * *", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), []string{"10-25 02:30 CEST"}},
		{"berlin day before spring", "Europe/Berlin", "30 2 * * *", time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), []string{"03-28 02:30 CET"}},
		{"berlin day after fall", "Europe/Berlin", "30 2 * * *", time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC), []string{"10-26 02:30 CET"}},
		{"new york spring 02:30 runs once at the jump", "America/New_York", "30 2 * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), []string{"03-08 03:00 EDT"}},
		{"new york fall 02:30 runs once", "America/New_York", "30 2 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []string{"11-01 02:30 EST"}},
		{"new york fall 01:30 runs once, first occurrence", "America/New_York", "30 1 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []string{"11-01 01:30 EDT"}},
		{"several gap times coalesce", "Europe/Berlin", "0,15,30,45 2 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), []string{"03-29 03:00 CEST"}},
		{"gap time and the jump time coalesce", "Europe/Berlin", "30 2,3 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), []string{"03-29 03:00 CEST", "03-29 03:30 CEST"}},
		{"hourly skips the missing hour", "Europe/Berlin", "0 * * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC),
			[]string{"03-29 00:00 CET", "03-29 01:00 CET", "03-29 03:00 CEST", "03-29 04:00 CEST", "03-29 05:00 CEST", "03-29 06:00 CEST",
				"03-29 07:00 CEST", "03-29 08:00 CEST", "03-29 09:00 CEST", "03-29 10:00 CEST", "03-29 11:00 CEST", "03-29 12:00 CEST",
				"03-29 13:00 CEST", "03-29 14:00 CEST", "03-29 15:00 CEST", "03-29 16:00 CEST", "03-29 17:00 CEST", "03-29 18:00 CEST",
				"03-29 19:00 CEST", "03-29 20:00 CEST", "03-29 21:00 CEST", "03-29 22:00 CEST", "03-29 23:00 CEST"}},
		{"half-hourly keeps its cadence in the repeated hour", "America/New_York", "*/30 * * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			[]string{"11-01 00:00 EDT", "11-01 00:30 EDT", "11-01 01:00 EDT", "11-01 01:30 EDT", "11-01 01:00 EST", "11-01 01:30 EST", "11-01 02:00 EST", "11-01 02:30 EST"}},
		{"weekday filter on a Saturday", "Europe/Berlin", "0 9 * * 1-5", time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), nil},
		{"weekday filter on a Monday", "Europe/Berlin", "0 9 * * 1-5", time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC), []string{"03-30 09:00 CEST"}},
		{"descriptor daily", "UTC", "@daily", time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC), []string{"05-05 00:00 UTC"}},
		{"dom or dow when both restricted", "UTC", "0 12 1 * 0", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), []string{"03-01 12:00 UTC"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			s, err := parseCron(tc.spec, loc)
			if err != nil {
				t.Fatal(err)
			}
			from := time.Date(tc.day.Year(), tc.day.Month(), tc.day.Day(), 0, 0, 0, 0, loc)
			got := runsBetween(s, from, from.AddDate(0, 0, 1))
			if tc.name == "half-hourly keeps its cadence in the repeated hour" {
				got = got[:min(len(got), 8)]
			}
			if g := fmtTimes(got, loc); !equalStrings(g, tc.want) {
				t.Fatalf("runs = %v, want %v", g, tc.want)
			}
		})
	}
}

func TestAtSpecDays(t *testing.T) {
	loc := mustLoc(t, "Europe/Istanbul")
	cases := []struct {
		name string
		days []int
		want int // runs in the week of 2026-06-01 (Monday)
	}{
		{"every day", nil, 7},
		{"weekdays", []int{1, 2, 3, 4, 5}, 5},
		{"sunday is 7", []int{7}, 1},
		{"weekend", []int{6, 7}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := atSpec(9*60, tc.days, loc)
			from := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
			got := runsBetween(s, from, from.AddDate(0, 0, 7))
			if len(got) != tc.want {
				t.Fatalf("runs = %v, want %d", fmtTimes(got, loc), tc.want)
			}
			for _, r := range got {
				if r.In(loc).Hour() != 9 || r.In(loc).Minute() != 0 {
					t.Fatalf("run at %s", r.In(loc))
				}
			}
			if len(tc.days) == 1 && got[0].In(loc).Weekday() != time.Sunday {
				t.Fatalf("day 7 ran on %s", got[0].In(loc).Weekday())
			}
		})
	}
}

func TestWindowAt(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	weekdays := [8]bool{false, true, true, true, true, true, false, false}
	everyDay := [8]bool{false, true, true, true, true, true, true, true}
	cases := []struct {
		name      string
		w         window
		now       time.Time
		open      bool
		nextOpen  string
		nextClose string
	}{
		{"weekday inside", window{start: 9 * 60, stop: 18 * 60, days: weekdays, loc: berlin},
			time.Date(2026, 6, 3, 10, 0, 0, 0, berlin), true, "06-04 09:00 CEST", "06-03 18:00 CEST"},
		{"weekday before", window{start: 9 * 60, stop: 18 * 60, days: weekdays, loc: berlin},
			time.Date(2026, 6, 3, 8, 59, 0, 0, berlin), false, "06-03 09:00 CEST", "06-03 18:00 CEST"},
		{"stop is exclusive", window{start: 9 * 60, stop: 18 * 60, days: weekdays, loc: berlin},
			time.Date(2026, 6, 3, 18, 0, 0, 0, berlin), false, "06-04 09:00 CEST", "06-04 18:00 CEST"},
		{"saturday closed, opens monday", window{start: 9 * 60, stop: 18 * 60, days: weekdays, loc: berlin},
			time.Date(2026, 6, 6, 12, 0, 0, 0, berlin), false, "06-08 09:00 CEST", "06-08 18:00 CEST"},
		{"across midnight, after midnight", window{start: 22 * 60, stop: 6 * 60, days: weekdays, loc: berlin},
			time.Date(2026, 6, 4, 2, 0, 0, 0, berlin), true, "06-04 22:00 CEST", "06-04 06:00 CEST"},
		{"across midnight, friday night into saturday", window{start: 22 * 60, stop: 6 * 60, days: weekdays, loc: berlin},
			time.Date(2026, 6, 6, 3, 0, 0, 0, berlin), true, "06-08 22:00 CEST", "06-06 06:00 CEST"},
		{"across midnight, monday early is closed", window{start: 22 * 60, stop: 6 * 60, days: weekdays, loc: berlin},
			time.Date(2026, 6, 8, 3, 0, 0, 0, berlin), false, "06-08 22:00 CEST", "06-09 06:00 CEST"},
		{"across the spring jump, open", window{start: 22 * 60, stop: 6 * 60, days: everyDay, loc: berlin},
			time.Date(2026, 3, 29, 3, 30, 0, 0, berlin), true, "03-29 22:00 CEST", "03-29 06:00 CEST"},
		{"across the fall jump, second 02:30 still open", window{start: 22 * 60, stop: 6 * 60, days: everyDay, loc: berlin},
			time.Date(2026, 10, 25, 2, 30, 0, 0, berlin).Add(time.Hour), true, "10-25 22:00 CET", "10-25 06:00 CET"},
		{"stop in the repeated hour closes at the first", window{start: 22 * 60, stop: 1*60 + 30, days: everyDay, loc: ny},
			time.Date(2026, 11, 1, 1, 30, 0, 0, ny).Add(30 * time.Minute), false, "11-01 22:00 EST", "11-02 01:30 EST"},
		{"start in the gap opens at the jump", window{start: 2*60 + 30, stop: 9 * 60, days: everyDay, loc: ny},
			time.Date(2026, 3, 8, 3, 0, 0, 0, ny), true, "03-09 02:30 EDT", "03-08 09:00 EDT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.w.at(tc.now)
			loc := tc.w.loc
			if st.open != tc.open {
				t.Fatalf("open = %v, want %v", st.open, tc.open)
			}
			if g := st.nextOpen.In(loc).Format("01-02 15:04 MST"); g != tc.nextOpen {
				t.Errorf("next open = %s, want %s", g, tc.nextOpen)
			}
			if g := st.nextClose.In(loc).Format("01-02 15:04 MST"); g != tc.nextClose {
				t.Errorf("next close = %s, want %s", g, tc.nextClose)
			}
		})
	}
}

func TestCivilFromDays(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		c := civilFromDays(epochDay(d.Unix()))
		if c.y != d.Year() || c.m != int(d.Month()) || c.d != d.Day() || c.wd != int(d.Weekday()) {
			t.Errorf("%s: got %+v", d.Format(time.DateOnly), c)
		}
	}
}

// TestNextMatchesRobfigAwayFromDST holds our next-run computation to robfig's
// on ordinary days, over many expressions.
func TestNextMatchesRobfigAwayFromDST(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	specs := []string{"0 2 * * *", "*/7 * * * *", "15 9-17 * * 1-5", "0 0 * * 0", "0 0 1 * *", "30 4 1,15 * 3", "0 12 * 2 *", "@hourly", "@weekly", "@monthly", "5 4 */2 * *"}
	from := time.Date(2026, 4, 10, 13, 17, 23, 0, loc)
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			ours, err := parseCron(spec, loc)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := cron.ParseStandard(spec)
			if err != nil {
				t.Fatal(err)
			}
			theirs.(*cron.SpecSchedule).Location = loc
			a, b := from, from
			for range 50 {
				a, b = ours.next(a), theirs.Next(b)
				if !a.Equal(b) {
					t.Fatalf("ours %s, robfig %s", a, b)
				}
				if a.Month() >= 10 {
					break // stay clear of the fall transition
				}
			}
		})
	}
}
