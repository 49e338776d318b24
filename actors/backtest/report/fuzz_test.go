package report

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// fuzzResult builds a result from raw bytes: 8-byte floats for the
// equity, then fills of (side, price, qty, fee), times stepping by step.
func fuzzResult(data []byte, step int64, alloc float64) *engine.Result {
	next := func() (float64, bool) {
		if len(data) < 8 {
			return 0, false
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(data))
		data = data[8:]
		return v, true
	}
	r := &engine.Result{Legs: []engine.LegResult{{Symbol: "X", Allocation: alloc,
		Bars: []strategy.Bar{{OpenTimeMs: -step, Close: 1}}, FirstClose: 1, LastClose: 2}}}
	n := len(data) / 16
	for i := range n {
		v, _ := next()
		r.Equity = append(r.Equity, engine.Point{TimeMs: int64(i) * step, Equity: v})
	}
	for i := int64(0); ; i++ {
		price, ok1 := next()
		qty, ok2 := next()
		if !ok1 || !ok2 {
			return r
		}
		side := "BUY"
		if i%3 == 1 {
			side = "SELL"
		}
		r.Fills = append(r.Fills, engine.Fill{Symbol: "X", Side: side, Price: price, Qty: qty, Fee: price * 0.001, TimeMs: i * step})
	}
}

// FuzzComputeNeverNaN checks that no input makes the metrics, the JSON or
// the HTML carry NaN or Inf.
func FuzzComputeNeverNaN(f *testing.F) {
	seed := func(vs ...float64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(seed(100, 110, 90, 120, 10, 1, 12, 1), int64(60_000), 100.0)
	f.Add(seed(0, 0, math.NaN(), math.Inf(1), -5, 3, 1e308, 1e-308), int64(0), 0.0)
	f.Add(seed(1, 1e300, 1e-300, -1e300), int64(1), math.Inf(1))
	f.Fuzz(func(t *testing.T, data []byte, step int64, alloc float64) {
		if len(data) > 1<<12 {
			return
		}
		r := fuzzResult(data, step%(1<<40), alloc)
		m := Compute(r)
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("metrics: %v", err)
		}
		var j, h bytes.Buffer
		if err := WriteJSON(&j, r, m); err != nil {
			t.Fatalf("json: %v", err)
		}
		if err := WriteHTML(&h, r, m, "f"); err != nil {
			t.Fatalf("html: %v", err)
		}
		if s := h.String(); strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
			t.Fatalf("html carries NaN or Inf")
		}
	})
}
