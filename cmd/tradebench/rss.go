package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
)

// rssStrategies is how many sma_cross strategies the RSS figure runs, one per symbol.
const rssStrategies = 20

// rssLimitKiB is the bound on the daemon's RSS (40 MiB).
const rssLimitKiB = 40 * 1024

// rssSymbols returns rssStrategies simulator symbols (the four defaults and more
// built like SOLUSDT).
func rssSymbols() []exchangesim.Symbol {
	syms := exchangesim.DefaultConfig().Symbols
	bases := []string{"XRP", "ADA", "DOGE", "TRX", "DOT", "LINK", "LTC", "BCH", "AVAX", "UNI", "ATOM", "XLM", "ETC", "FIL", "NEAR", "APT"}
	for i, b := range bases[:rssStrategies-len(syms)] {
		s := syms[3] // SOLUSDT: tick 0.01, step 0.001
		s.Symbol, s.BaseAsset, s.Price = b+"USDT", b, fmt.Sprintf("%d", 20+7*i)
		syms = append(syms, s)
	}
	return syms
}

// rssSlow is the strategies' slow SMA period: they cannot signal, and so
// cannot trade, before they have seen that many bars.
const rssSlow = 20

// rssSettle is how long the warm-up lasts past the moment every strategy has
// seen rssSlow bars: their first signals, orders and journal writes happen
// then, and bring code and memory into use that an idle strategy never
// touches.
const rssSettle = 5 * time.Minute

// rssRun is what the RSS figure runs: the strategies' bar interval, how long,
// and how often it samples.
type rssRun struct {
	interval   string
	dur, every time.Duration
}

// rssFigure runs rssStrategies sma_cross strategies on as many symbols in paper mode
// (market data from the simulator, ticking every 500 ms; run.interval bars,
// 1m for the figure) for run.dur,
// sampling the daemon's RSS every run.every: it reports the peak, and the
// growth after warm-up as the difference between the medians of the first
// and the last third of the remaining samples. The warm-up is the strategies'
// own (every one has seen rssSlow bars, plus rssSettle) and at least the
// first quarter of the run: with 1m bars that is about 26 minutes, so the
// growth figure needs an hour's run.
func rssFigure(w io.Writer, bin, dir string, run rssRun) error {
	interval, dur, every := run.interval, run.dur, run.every
	syms := rssSymbols()
	ex, err := newSim(syms, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer func() { _ = ex.Close() }()
	var b strings.Builder
	for i, s := range syms {
		fmt.Fprintf(&b, "[trading.strategies.rss%02d]\nkind = \"sma_cross\"\nsymbol = %q\ninterval = %q\nallocation = \"500 USDT\"\nparams = { fast = 5, slow = %d }\n", i, s.Symbol, interval, rssSlow)
	}
	d, c, _, err := openDaemon(bin, dir, daemonConfig(ex, "paper", b.String()), 60*time.Second)
	if err != nil {
		return err
	}
	defer d.stop()
	defer func() { _ = c.Close() }()
	var samples []rssSample
	tk := time.NewTicker(every)
	defer tk.Stop()
	// Each sample also asks the daemon for its strategies: it proves the daemon
	// answers throughout, and keeps the connection inside the edge's idle timeout
	// (an hour-long silent connection is closed and the last call broke its pipe).
	var info messages.StrategiesResponse
	warm := max(dur/4, 30*time.Second)
	warmed := false // every strategy has seen rssSlow bars
	for start := time.Now(); time.Since(start) < dur; <-tk.C {
		kib := rssKiB(d.cmd.Process.Pid)
		if kib < 0 {
			return fmt.Errorf("daemon gone:\n%s", d.out.String())
		}
		var res messages.ResourcesResponse
		info.Reset()
		if err := errors.Join(rpcCall(c, "monitoring.resources", map[string]any{}, &res),
			rpcCall(c, "trading.strategies", map[string]any{}, &info)); err != nil {
			return fmt.Errorf("after %s: %w", time.Since(start).Round(time.Second), err)
		}
		at := time.Since(start)
		samples = append(samples, rssSample{at, kib, res.GetDaemon().GetGoHeapBytes(), res.GetDaemon().GetGoRuntimeBytes()})
		if !warmed && minBars(&info) >= rssSlow {
			warmed, warm = true, max(warm, at+rssSettle)
		}
	}
	running, bars, orders := 0, uint64(0), uint64(0)
	for _, s := range info.GetStrategies() {
		if s.GetState() == "running" {
			running++
		}
		bars += s.GetBars()
		orders += s.GetOrders()
	}
	fmt.Fprintf(w, "rss: %d sma_cross strategies on %d symbols, %s bars, paper mode, %s sampled every %s: %d strategies running, %d bars seen, %d orders placed\n",
		rssStrategies, len(syms), interval, dur, every, running, bars, orders)
	if !warmed {
		fmt.Fprintf(w, "rss: the strategies never saw %d bars each: the growth below is still the warm-up's (run longer: -rss-for 1h)\n", rssSlow)
	}
	err = rssJudge(w, samples, warm, every)
	if running != rssStrategies {
		err = errors.Join(err, fmt.Errorf("%d of %d strategies running", running, rssStrategies))
	}
	return err
}

// rssSample is one sample of the RSS figure.
type rssSample struct {
	at             time.Duration
	kib            int
	heap, runtimeB uint64 // the Go heap's live objects, what the Go runtime holds
}

// rssJudge prints the samples and judges them: the peak within the bound,
// and flat (at most 1 MiB of growth) after warm.
func rssJudge(w io.Writer, samples []rssSample, warm, every time.Duration) error {
	var after []int
	peak := 0
	for _, s := range samples {
		peak = max(peak, s.kib)
		if s.at >= warm {
			after = append(after, s.kib)
		}
	}
	if len(after) < 3 {
		return fmt.Errorf("too few samples after the %s warm-up: run longer (-rss-for)", warm.Round(time.Second))
	}
	series := make([]string, len(samples))
	for i, s := range samples {
		series[i] = fmt.Sprintf("%d/%d/%d", s.kib, s.runtimeB>>10, s.heap>>10)
	}
	fmt.Fprintf(w, "rss: samples every %s, KiB: RSS/Go runtime (not returned to the OS)/Go heap objects: %s\n", every, strings.Join(series, " "))
	third := len(after) / 3
	early, late := medianInt(after[:third]), medianInt(after[len(after)-third:])
	fmt.Fprintf(w, "rss: peak %d KiB (%.1f MiB; bound 40 MiB); after %s warm-up: median of the first third %d KiB, of the last third %d KiB, growth %+d KiB\n",
		peak, float64(peak)/1024, warm.Round(time.Second), early, late, late-early)
	var errs []error
	if peak > rssLimitKiB {
		errs = append(errs, fmt.Errorf("peak RSS %d KiB > 40 MiB", peak))
	}
	if late-early > 1024 {
		errs = append(errs, fmt.Errorf("RSS grew %d KiB after warm-up (not flat: > 1 MiB)", late-early))
	}
	return errors.Join(errs...)
}

// minBars is the fewest bars any strategy has seen (0 without strategies).
func minBars(info *messages.StrategiesResponse) uint64 {
	var least uint64
	for i, s := range info.GetStrategies() {
		if i == 0 || s.GetBars() < least {
			least = s.GetBars()
		}
	}
	return least
}

func medianInt(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
