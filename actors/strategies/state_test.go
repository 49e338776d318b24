package strategies

import (
	"reflect"
	"testing"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	e := envelope{
		lastRef:  42,
		open:     []openRef{{ref: 41, id: "btc-abc-1", side: strategy.Sell, price: 101.5, qty: 2, filled: 0.5}},
		position: strategy.Position{Quantity: 1.5, AvgPrice: 100, RealizedPnL: -3, Fees: 0.1},
		state:    []byte{1, 2, 3},
	}
	got, err := decodeEnvelope(e.encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
	b := e.encode()
	for _, bad := range [][]byte{nil, {9}, b[:len(b)-1], append(append([]byte{}, b...), 0)} {
		if _, err := decodeEnvelope(bad); err == nil {
			t.Fatalf("decode of %v: no error", bad)
		}
	}
}

// FuzzDecodeEnvelope: a saved state comes from disk; no input may panic or
// allocate beyond the limits.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add((&envelope{lastRef: 1, open: []openRef{{ref: 1, id: "x", side: strategy.Buy}}, state: []byte("s")}).encode())
	f.Add([]byte{1, 255, 255, 255, 255, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := decodeEnvelope(b); err == nil {
			if _, err := decodeEnvelope(e.encode()); err != nil {
				t.Fatalf("re-encoded envelope does not decode: %v", err)
			}
		}
	})
}

// TestStateLoadWaitsForTheJournal: while the order actor answers that its
// journal is still opening (the daemon starts both together), a strategy
// asks again and sends nothing; then it goes on from its saved state, not
// from scratch.
func TestStateLoadWaitsForTheJournal(t *testing.T) {
	var saved strategy.Encoder
	saved.Uint64(5) // test_counter's bars
	r := newRigWith(t, Config{Strategies: map[string]Spec{"cnt": spec("test_counter", "BTCUSDT", nil)}}, func(f *fakeOrders) {
		f.states["cnt"] = (&envelope{state: saved.B}).encode()
		f.opening = 3
	})
	actortest.Eventually(t, wait, func() bool {
		r.orders.mu.Lock()
		defer r.orders.mu.Unlock()
		return r.orders.loads >= 4
	}, "the state asked for again until the journal answers")
	r.waitSubscribed(t, 3)
	r.bar("BTCUSDT", 5, true)
	if p := r.orders.nextPlace(t); p.Quantity != "6" {
		t.Fatalf("the count must go on from the saved 5: %v", p)
	}
}
