package connector

import (
	"testing"
	"time"
)

func TestBudgetArithmetic(t *testing.T) {
	b := newBudget(DefaultConfig())
	now := time.UnixMilli(1_800_000_000_000)
	b.setLimit(1000, 10*time.Second, now)
	if b.usable() != 950 {
		t.Fatalf("usable = %d", b.usable())
	}
	now = now.Add(time.Second)
	b.roll(now)
	w := b.spend(900, now)
	if !b.fits(50) || b.fits(51) {
		t.Fatal("fits is off")
	}
	b.spend(10, now)
	b.observe(w, 930, now, now) // someone else spent 20: the header raises the count
	if b.used != 930 {
		t.Fatalf("used = %d after a higher header", b.used)
	}
	b.observe(w, 700, now, now) // an older answer, last: a header never lowers the count
	if b.used != 930 {
		t.Fatalf("used = %d after a late, lower header", b.used)
	}
	b.refund(w, 1)
	if b.used != 929 {
		t.Fatalf("used = %d after a refund", b.used)
	}
	// Spent in the guard slice: the exchange counts it in the next window.
	slice := now.Add(9*time.Second + windowGuard/2)
	b.spend(40, slice)
	b.roll(now.Add(10 * time.Second))
	b.roll(now.Add(10*time.Second - 2*windowGuard)) // the clock stepped back: stay
	if b.used != 40 {
		t.Fatalf("used = %d in a new window, want the 40 of the guard slice", b.used)
	}
	b.ban(now, 0, 418)
	if !b.banned(now.Add(time.Minute)) || b.banned(now.Add(3*time.Minute)) {
		t.Fatal("a 418 without Retry-After bans for 2 minutes")
	}
}
