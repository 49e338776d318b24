package report

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

const (
	minute = int64(60_000)
	day    = int64(86_400_000)
	year   = int64(31_557_600_000) // 365.25 days
)

// near fails unless got is within 1e-9 (relative to want, at least
// absolute 1e-12) of want.
func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.15g, want %.15g", name, got, want)
	}
}

// curveResult is a result with equity values every step ms from 0.
func curveResult(step int64, values ...float64) *engine.Result {
	r := &engine.Result{}
	for i, v := range values {
		r.Equity = append(r.Equity, engine.Point{TimeMs: int64(i) * step, Equity: v})
	}
	return r
}

func TestComputeReturnsRatiosAndDrawdownByHand(t *testing.T) {
	// Daily points 100, 110, 99, 118.8, 124.74:
	// returns r = +0.10, -0.10, +0.20, +0.05.
	// mean = 0.25/4 = 0.0625; deviations 0.0375, -0.1625, 0.1375, -0.0125,
	// squares sum 0.046875; sample variance /3 = 0.015625; stdev 0.125.
	// periods a year = 365.25 (median spacing 1 day).
	// Sharpe = 0.0625/0.125 * sqrt(365.25) = 0.5*sqrt(365.25).
	// downside = sqrt(0.1^2/4) = 0.05; Sortino = 1.25*sqrt(365.25).
	// Drawdown: peak 110 (day 1), trough 99 (day 2): 1-99/110 = 0.1,
	// recovered at day 3 (118.8 >= 110).
	// Total return 124.74/100-1 = 0.2474 over 4 days:
	// CAGR = 1.2474^(365.25/4) - 1; Calmar = CAGR/0.1.
	m := Compute(curveResult(day, 100, 110, 99, 118.8, 124.74))
	near(t, "PeriodsPerYear", m.PeriodsPerYear, 365.25)
	near(t, "TotalReturn", m.TotalReturn, 0.2474)
	near(t, "Sharpe", m.Sharpe, 0.5*math.Sqrt(365.25))
	near(t, "Sortino", m.Sortino, 1.25*math.Sqrt(365.25))
	near(t, "MaxDrawdown", m.MaxDrawdown, 0.1)
	cagr := math.Pow(1.2474, 365.25/4) - 1
	near(t, "AnnualReturn", m.AnnualReturn, cagr)
	near(t, "Calmar", m.Calmar, cagr/0.1)
	if m.DrawdownStartMs != day || m.DrawdownTroughMs != 2*day || m.DrawdownRecoveryMs != 3*day {
		t.Errorf("drawdown times %d/%d/%d, want %d/%d/%d", m.DrawdownStartMs,
			m.DrawdownTroughMs, m.DrawdownRecoveryMs, day, 2*day, 3*day)
	}
	if m.StartMs != 0 || m.EndMs != 4*day || m.InitialEquity != 100 || m.FinalEquity != 124.74 {
		t.Errorf("span %d..%d equity %v..%v", m.StartMs, m.EndMs, m.InitialEquity, m.FinalEquity)
	}
}

func TestComputeAnnualReturnOverTwoYears(t *testing.T) {
	// 100 -> 110 -> 121, a year apart: CAGR = (121/100)^(1/2) - 1 = 0.1.
	// Both returns are 0.1: stdev 0, so Sharpe is 0, not NaN or Inf;
	// no losing period: Sortino 0; no drawdown: Calmar 0.
	m := Compute(curveResult(year, 100, 110, 121))
	near(t, "AnnualReturn", m.AnnualReturn, 0.1)
	near(t, "PeriodsPerYear", m.PeriodsPerYear, 1)
	if m.Sharpe != 0 || m.Sortino != 0 || m.Calmar != 0 || m.MaxDrawdown != 0 {
		t.Errorf("sharpe %v sortino %v calmar %v dd %v, want all 0", m.Sharpe, m.Sortino, m.Calmar, m.MaxDrawdown)
	}
	if m.DrawdownStartMs != 0 || m.DrawdownTroughMs != 0 || m.DrawdownRecoveryMs != 0 {
		t.Errorf("drawdown times set without a drawdown: %+v", m)
	}
}

func TestComputeMedianSpacingIgnoresAGap(t *testing.T) {
	// Spacings 1, 1, 1, 10 minutes: median 1 minute, so a year is
	// 31,557,600,000/60,000 = 525,960 periods.
	r := curveResult(minute, 100, 101, 102, 103)
	r.Equity = append(r.Equity, engine.Point{TimeMs: 13 * minute, Equity: 104})
	near(t, "PeriodsPerYear", Compute(r).PeriodsPerYear, 525_960)
}

func TestComputeDrawdownNeverRecovered(t *testing.T) {
	// 100, 120, 90, 100: peak 120 at t=1m, trough 90 at t=2m:
	// 1-90/120 = 0.25; 100 < 120, so never recovered (0).
	// A smaller, later drawdown does not replace it: 100 -> 95 is 1-95/120.
	m := Compute(curveResult(minute, 100, 120, 90, 100, 95))
	near(t, "MaxDrawdown", m.MaxDrawdown, 0.25)
	if m.DrawdownStartMs != minute || m.DrawdownTroughMs != 2*minute || m.DrawdownRecoveryMs != 0 {
		t.Errorf("drawdown times %d/%d/%d", m.DrawdownStartMs, m.DrawdownTroughMs, m.DrawdownRecoveryMs)
	}
}

func TestComputeDrawdownStartsAtTheLastTimeAtThePeak(t *testing.T) {
	// 100, 120, 120, 108, 120: the fall starts after the second 120
	// (t=2m); 1-108/120 = 0.1; back at 120 at t=4m.
	m := Compute(curveResult(minute, 100, 120, 120, 108, 120))
	near(t, "MaxDrawdown", m.MaxDrawdown, 0.1)
	if m.DrawdownStartMs != 2*minute || m.DrawdownTroughMs != 3*minute || m.DrawdownRecoveryMs != 4*minute {
		t.Errorf("drawdown times %d/%d/%d", m.DrawdownStartMs, m.DrawdownTroughMs, m.DrawdownRecoveryMs)
	}
}

func TestComputeStartsAtTheAllocationsBeforeTheFirstBar(t *testing.T) {
	// Two legs with 600 and 400 allocated; bars open at t=0 and t=1m;
	// the first equity point is the first bar's close (t=1m-1). The curve
	// starts at (0, 1000): initial 1000, final 1100, total return 0.1,
	// and the fall from 1000 to 950 is a 5 % drawdown starting at 0.
	r := &engine.Result{
		Legs: []engine.LegResult{
			{Symbol: "BTCUSDT", Allocation: 600, Bars: []strategy.Bar{{OpenTimeMs: minute}}},
			{Symbol: "ETHUSDT", Allocation: 400, Bars: []strategy.Bar{{OpenTimeMs: 0}}},
		},
		Equity: []engine.Point{{TimeMs: minute - 1, Equity: 950}, {TimeMs: 2*minute - 1, Equity: 1100}},
	}
	m := Compute(r)
	if m.StartMs != 0 || m.InitialEquity != 1000 || m.EndMs != 2*minute-1 {
		t.Errorf("start %d initial %v end %d", m.StartMs, m.InitialEquity, m.EndMs)
	}
	near(t, "TotalReturn", m.TotalReturn, 0.1)
	near(t, "MaxDrawdown", m.MaxDrawdown, 0.05)
	if m.DrawdownStartMs != 0 || m.DrawdownTroughMs != minute-1 || m.DrawdownRecoveryMs != 2*minute-1 {
		t.Errorf("drawdown times %d/%d/%d", m.DrawdownStartMs, m.DrawdownTroughMs, m.DrawdownRecoveryMs)
	}
}

// tradesResult has two legs and fills with hand-computed round trips.
func tradesResult() *engine.Result {
	r := curveResult(1, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500)
	r.Legs = []engine.LegResult{
		{Name: "btc", Symbol: "BTCUSDT", Allocation: 1000, FirstClose: 100, LastClose: 130},
		{Name: "eth", Symbol: "ETHUSDT", Allocation: 500, FirstClose: 100, LastClose: 75},
	}
	fill := func(leg int, side string, price, qty, fee float64, at int64) engine.Fill {
		return engine.Fill{Leg: leg, Symbol: r.Legs[leg].Symbol, Side: side,
			Price: price, Qty: qty, Fee: fee, TimeMs: at}
	}
	r.Fills = []engine.Fill{
		fill(0, "BUY", 100, 1, 0.1, 1),
		fill(0, "BUY", 110, 1, 0.11, 2),
		fill(0, "SELL", 120, 2, 0.24, 3),
		fill(1, "BUY", 100, 1, 0.1, 5),
		fill(1, "SELL", 90, 3, 0.27, 6), // flips long 1 to short 2
		fill(1, "BUY", 80, 2, 0.16, 7),
		fill(0, "BUY", 125, 1, 0.125, 8), // still open at the end
	}
	return r
}

func TestRoundTripsByHand(t *testing.T) {
	// btc: buy 1@100 (fee .1), buy 1@110 (.11), sell 2@120 (.24): flat.
	//   PnL = 240 - 210 - 0.45 = 29.55; entry 105, exit 120, qty 2.
	// eth: buy 1@100 (.1), sell 3@90 (.27): a third of the sell closes
	//   the long with fee .09: PnL = 90 - 100 - 0.19 = -10.19;
	//   the rest opens a short of 2 (fee .18); buy 2@80 (.16) closes it:
	//   PnL = 180 - 160 - 0.34 = 19.66.
	// btc: buy 1@125 at t=8 is still open: no trip.
	trips := RoundTrips(tradesResult())
	want := []RoundTrip{
		{Leg: 0, Symbol: "BTCUSDT", Side: "LONG", EntryMs: 1, ExitMs: 3, Qty: 2, EntryPrice: 105, ExitPrice: 120, PnL: 29.55, Fees: 0.45, Fills: 3},
		{Leg: 1, Symbol: "ETHUSDT", Side: "LONG", EntryMs: 5, ExitMs: 6, Qty: 1, EntryPrice: 100, ExitPrice: 90, PnL: -10.19, Fees: 0.19, Fills: 2},
		{Leg: 1, Symbol: "ETHUSDT", Side: "SHORT", EntryMs: 6, ExitMs: 7, Qty: 2, EntryPrice: 90, ExitPrice: 80, PnL: 19.66, Fees: 0.34, Fills: 2},
	}
	if len(trips) != len(want) {
		t.Fatalf("trips %+v, want %d", trips, len(want))
	}
	for i, w := range want {
		g := trips[i]
		if g.Leg != w.Leg || g.Symbol != w.Symbol || g.Side != w.Side || g.EntryMs != w.EntryMs ||
			g.ExitMs != w.ExitMs || g.Fills != w.Fills {
			t.Errorf("trip %d = %+v, want %+v", i, g, w)
		}
		near(t, "Qty", g.Qty, w.Qty)
		near(t, "EntryPrice", g.EntryPrice, w.EntryPrice)
		near(t, "ExitPrice", g.ExitPrice, w.ExitPrice)
		near(t, "PnL", g.PnL, w.PnL)
		near(t, "Fees", g.Fees, w.Fees)
	}
}

func TestComputeTradeMetricsByHand(t *testing.T) {
	// Trips 29.55, -10.19, 19.66 (TestRoundTripsByHand):
	// trades 3, wins 2: win rate 2/3; gross profit 49.21, gross loss
	// 10.19: profit factor 49.21/10.19; expectancy 39.02/3.
	// Fees: .1+.11+.24+.1+.27+.16+.125 = 1.105 over 7 fills.
	// Exposure over [0, 10]: btc [1,3] and [8,10] (open to the end), eth
	// [5,6]+[6,7]: 2+2+2 = 6 of 10 = 0.6.
	// Buy and hold: (1000*0.3 + 500*(-0.25)) / 1500 = 175/1500.
	m := Compute(tradesResult())
	if m.Trades != 3 || m.Fills != 7 {
		t.Errorf("trades %d fills %d, want 3 and 7", m.Trades, m.Fills)
	}
	near(t, "WinRate", m.WinRate, 2.0/3)
	near(t, "GrossProfit", m.GrossProfit, 49.21)
	near(t, "GrossLoss", m.GrossLoss, 10.19)
	near(t, "ProfitFactor", m.ProfitFactor, 49.21/10.19)
	near(t, "Expectancy", m.Expectancy, 39.02/3)
	near(t, "Fees", m.Fees, 1.105)
	near(t, "Exposure", m.Exposure, 0.6)
	near(t, "BuyHoldReturn", m.BuyHoldReturn, 175.0/1500)
}

func TestComputeSymbolsByHand(t *testing.T) {
	// BTCUSDT: cash -100-110+240-125 = -95, holds 1 marked at 130,
	//   fees .575: PnL = -95+130-.575 = 34.425; return /1000; 1 trade won;
	//   buy and hold 130/100-1 = 0.3.
	// ETHUSDT: cash -100+270-160 = 10, flat, fees .53: PnL 9.47;
	//   return 9.47/500; 2 trades, 1 won; buy and hold 75/100-1 = -0.25.
	s := Compute(tradesResult()).Symbols
	if len(s) != 2 || s[0].Symbol != "BTCUSDT" || s[1].Symbol != "ETHUSDT" {
		t.Fatalf("symbols %+v", s)
	}
	near(t, "btc PnL", s[0].PnL, 34.425)
	near(t, "btc Fees", s[0].Fees, 0.575)
	near(t, "btc Return", s[0].Return, 0.034425)
	near(t, "btc WinRate", s[0].WinRate, 1)
	near(t, "btc BuyHold", s[0].BuyHoldReturn, 0.3)
	near(t, "eth PnL", s[1].PnL, 9.47)
	near(t, "eth Fees", s[1].Fees, 0.53)
	near(t, "eth Return", s[1].Return, 9.47/500)
	near(t, "eth WinRate", s[1].WinRate, 0.5)
	near(t, "eth BuyHold", s[1].BuyHoldReturn, -0.25)
	if s[0].Trades != 1 || s[1].Trades != 2 {
		t.Errorf("trades %d %d, want 1 2", s[0].Trades, s[1].Trades)
	}
}

func TestComputeProfitFactorWithoutLossIsZero(t *testing.T) {
	// One winning trip, no loss: the ratio is undefined, so 0 (JSON cannot
	// carry Inf); GrossProfit tells the story.
	r := curveResult(1, 100, 100, 100)
	r.Fills = []engine.Fill{
		{Symbol: "X", Side: "BUY", Price: 10, Qty: 1, TimeMs: 0},
		{Symbol: "X", Side: "SELL", Price: 12, Qty: 1, TimeMs: 1},
	}
	m := Compute(r)
	if m.ProfitFactor != 0 || m.GrossProfit != 2 || m.WinRate != 1 || m.Expectancy != 2 {
		t.Errorf("pf %v gross %v win %v exp %v", m.ProfitFactor, m.GrossProfit, m.WinRate, m.Expectancy)
	}
}

// allFinite fails if JSON cannot carry m.
func allFinite(t *testing.T, m Metrics) {
	t.Helper()
	if _, err := json.Marshal(m); err != nil {
		t.Errorf("metrics do not marshal: %v (%+v)", err, m)
	}
}

func TestComputeEdgeCasesNeverNaN(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := map[string]*engine.Result{
		"nil":          nil,
		"empty":        {},
		"one bar":      curveResult(minute, 100),
		"flat":         curveResult(minute, 100, 100, 100, 100),
		"zero equity":  curveResult(minute, 0, 0, 10, 0),
		"negative":     curveResult(minute, 100, -5, 3),
		"same times":   curveResult(0, 100, 110, 90),
		"short growth": curveResult(1, 1, 1e300, 1e300),
		"nan equity":   curveResult(minute, 100, nan, 100),
		"inf equity":   curveResult(minute, 100, inf, 100),
		"no trades, legs": {Legs: []engine.LegResult{{Symbol: "X", Allocation: 10}},
			Equity: []engine.Point{{TimeMs: 5, Equity: 10}}},
		"nan fill": {Fills: []engine.Fill{{Symbol: "X", Side: "BUY", Price: nan, Qty: 1, Fee: inf}},
			Legs: []engine.LegResult{{Symbol: "X", FirstClose: nan, LastClose: inf}}},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) { allFinite(t, Compute(r)) })
	}
	if m := Compute(curveResult(minute, 100, 100, 100, 100)); m.Sharpe != 0 || m.Sortino != 0 || m.TotalReturn != 0 {
		t.Errorf("flat equity: %+v", m)
	}
	if m := Compute(curveResult(minute, 100)); m.InitialEquity != 100 || m.Sharpe != 0 || m.AnnualReturn != 0 {
		t.Errorf("one bar: %+v", m)
	}
}

func TestScore(t *testing.T) {
	r := curveResult(day, 100, 110, 99, 118.8, 124.74)
	m := Compute(r)
	for name, want := range map[string]float64{
		"sharpe": m.Sharpe, "sortino": m.Sortino, "calmar": m.Calmar, "return": m.TotalReturn,
		"annual_return": m.AnnualReturn, "max_drawdown": -m.MaxDrawdown,
		"profit_factor": m.ProfitFactor, "expectancy": m.Expectancy, "win_rate": m.WinRate,
	} {
		f, err := Score(name)
		if err != nil {
			t.Fatalf("Score(%q): %v", name, err)
		}
		if got := f(r); got != want {
			t.Errorf("Score(%q) = %v, want %v", name, got, want)
		}
	}
	if len(ScoreNames()) != 9 {
		t.Errorf("ScoreNames %v", ScoreNames())
	}
	if _, err := Score("luck"); !errors.Is(err, ErrUnknownMetric) {
		t.Errorf("Score(luck) err = %v", err)
	}
}

func TestComputeExposureIsTheUnionOfTheLegs(t *testing.T) {
	// Over [0, 10]: leg 1 holds over [2, 5] while leg 0 holds [1, 9];
	// leg 1 again [7, 10] (still open). Union [1, 10]: 9 of 10. Summing
	// the spans would give 8+3+3 = 14 of 10.
	r := curveResult(1, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100)
	f := func(leg int, side string, at int64) engine.Fill {
		return engine.Fill{Leg: leg, Symbol: "X", Side: side, Price: 1, Qty: 1, TimeMs: at}
	}
	r.Fills = []engine.Fill{f(0, "BUY", 1), f(1, "BUY", 2), f(1, "SELL", 5), f(1, "BUY", 7), f(0, "SELL", 9)}
	near(t, "Exposure", Compute(r).Exposure, 0.9)
}

func TestRoundTripsSkipEmptyFillsAndNil(t *testing.T) {
	// A fill of no quantity (or NaN) changes nothing: buy 1@10, an empty
	// sell, sell 1@12 is one trip of PnL 2.
	r := &engine.Result{Fills: []engine.Fill{
		{Side: "BUY", Price: 10, Qty: 1, TimeMs: 1},
		{Side: "SELL", Price: 11, Qty: 0, TimeMs: 2},
		{Side: "SELL", Price: 11, Qty: math.NaN(), TimeMs: 3},
		{Side: "SELL", Price: 12, Qty: 1, TimeMs: 4},
	}}
	trips := RoundTrips(r)
	if len(trips) != 1 || trips[0].PnL != 2 || trips[0].Fills != 2 || trips[0].ExitMs != 4 {
		t.Errorf("trips %+v", trips)
	}
	if RoundTrips(nil) != nil {
		t.Error("trips of nil")
	}
}
