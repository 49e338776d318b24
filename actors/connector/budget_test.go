package connector

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
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

// TestBudgetUnderDoubleDemand is the budget figure (long: set
// SUPERBOT_CONNECTOR_BUDGET to a duration, e.g. "2m"): the simulator's
// limit scaled down to 300 weight per 10 s window, demand at twice that.
// Want zero 429s and >= 90 % of the limit used in every full window.
func TestBudgetUnderDoubleDemand(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("SUPERBOT_CONNECTOR_BUDGET"))
	if err != nil {
		t.Skip("set SUPERBOT_CONNECTOR_BUDGET=2m to run the budget harness")
	}
	const limit, window = 300, 10 * time.Second
	sc := simConfig()
	sc.WeightLimit, sc.WeightWindow = limit, window
	ex := startSim(t, sc)
	cfg := testConfig(ex)
	cfg.QueueTimeout = window
	f := startConnector(t, cfg)

	// Demand: klines requests (weight 2) that never coalesce, at 2x the limit.
	rate := time.Duration(int64(window) * 2 / (2 * limit))
	var ok, refused, other atomic.Int64
	var wg sync.WaitGroup
	stop := time.After(d)
	tick := time.NewTicker(rate)
	peaks := map[int64]int64{} // window start -> highest budget_used seen
	sample := time.NewTicker(20 * time.Millisecond)
	start := time.Now()
	n := int64(0)
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-sample.C:
			st := f.status(t)
			w := time.Now().Add(-time.Duration(st.GetClockOffsetMs())*time.Millisecond - windowGuard).UnixMilli()
			w -= w % window.Milliseconds()
			peaks[w] = max(peaks[w], st.GetBudgetUsed())
			if st.GetRateLimited() > 0 {
				t.Fatalf("429/418 received: %v", st)
			}
		case <-tick.C:
			n++
			fut := f.sys.Root.RequestFuture(f.pid, &messages.KlinesRequest{Symbol: "BTCUSDT", Interval: "1s", Limit: 1, StartTimeMs: n}, 3*window)
			wg.Add(1)
			go func(fut *actor.Future) {
				defer wg.Done()
				res, err := fut.Result()
				r, _ := res.(*messages.KlinesResponse)
				switch {
				case err == nil && r.GetError() == nil:
					ok.Add(1)
				case r.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_RATE_LIMITED:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}(fut)
		}
	}
	tick.Stop()
	sample.Stop()
	elapsed := time.Since(start)
	st := f.status(t)
	wg.Wait()
	// Full windows only: drop the first and the last.
	var ws []int64
	for w := range peaks {
		ws = append(ws, w)
	}
	minPeak, sum, full := int64(limit), int64(0), 0
	for _, w := range ws {
		if w == minKey(ws) || w == maxKey(ws) {
			continue
		}
		minPeak = min(minPeak, peaks[w])
		sum += peaks[w]
		full++
	}
	if full == 0 {
		t.Fatalf("run at least 3 windows (%s)", 3*window)
	}
	t.Logf("budget: %s at 2x demand (%d requests, weight 2, limit %d per %s): answered %d, shed %d (queue timeout), other %d; 429/418: %d; "+
		"full windows %d: mean peak use %.1f%% of the limit, lowest %.1f%%; upstream %d",
		elapsed.Round(time.Second), n, limit, window, ok.Load(), refused.Load(), other.Load(), st.GetRateLimited(),
		full, 100*float64(sum)/float64(full)/limit, 100*float64(minPeak)/limit, st.GetUpstreamRequests())
	if st.GetRateLimited() != 0 || other.Load() != 0 {
		t.Fatalf("429s %d, other failures %d", st.GetRateLimited(), other.Load())
	}
	if float64(minPeak) < 0.9*limit {
		t.Fatalf("a full window used only %d of %d", minPeak, limit)
	}
	_ = actortest.DefaultTimeout
}

func minKey(ws []int64) int64 {
	m := ws[0]
	for _, w := range ws {
		m = min(m, w)
	}
	return m
}

func maxKey(ws []int64) int64 {
	m := ws[0]
	for _, w := range ws {
		m = max(m, w)
	}
	return m
}
