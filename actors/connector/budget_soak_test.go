//go:build soak

package connector

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// TestBudgetUnderDoubleDemand is the budget figure, a soak (`make soak`:
// go test -tags soak): the simulator's limit scaled down to 300 weight per
// 10 s window, demand at twice that, for SUPERBOT_CONNECTOR_BUDGET (a
// duration, default 2m). Want zero 429s and >= 90 % of the limit used in
// every full window.
func TestBudgetUnderDoubleDemand(t *testing.T) {
	d := 2 * time.Minute
	if v := os.Getenv("SUPERBOT_CONNECTOR_BUDGET"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("SUPERBOT_CONNECTOR_BUDGET=%q: %v", v, err)
		}
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
