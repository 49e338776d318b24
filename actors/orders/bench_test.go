package orders

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// floorP50 is the floor's p50 of the current run, for the live ratio.
var floorP50 time.Duration

// BenchmarkPlaceToAck measures trading.order.place -> its answer (the
// intent committed with fsync before sending; live answers once the
// exchange's answer is applied, its commit queued: see answerPlaced), one
// order at a time: in paper mode, in live mode through the real
// connector to the simulator, and the floor the issue compares live mode
// with (one journal fsync plus go-binance placing the same order
// directly). Sub-benchmarks run in order: floor, paper, live, then paper
// and live behind a cluster fence (benchFence: what election.Guard does,
// asked twice per order); live reports its p50 as a ratio of the floor's
// (p50_vs_floor). Orders are LIMIT IOC far below the price: they expire at
// once, so nothing piles up.
//
//	go test -run '^$' -bench PlaceToAck -benchtime 300x ./actors/orders/
func BenchmarkPlaceToAck(b *testing.B) {
	ls := startLiveSim(b)
	tk := actortest.Request[*messages.TickerResponse](b, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
	low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.95)))
	req := func(i int) *messages.PlaceTradeOrderRequest {
		return &messages.PlaceTradeOrderRequest{Strategy: "bench", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", TimeInForce: "IOC",
			Quantity: "0.001", Price: low, ClientOrderId: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)}
	}
	b.Run("floor", func(b *testing.B) {
		j, err := journal.Open(filepath.Join(b.TempDir(), "floor.db"), journal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		direct := ls.direct(b)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			r := req(i)
			start := time.Now()
			done := make(chan error, 1)
			j.Write([]journal.Op{journal.PutOrder{Order: &messages.TradeOrder{ClientOrderId: r.ClientOrderId, Strategy: "bench", Symbol: r.Symbol,
				Side: r.Side, Type: r.Type, Quantity: r.Quantity, Price: r.Price, Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT}}},
				func(err error) { done <- err })
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			if _, err := direct.NewCreateOrderService().Symbol(r.Symbol).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
				TimeInForce(binance.TimeInForceTypeIOC).Quantity(r.Quantity).Price(r.Price).NewClientOrderID(r.ClientOrderId).Do(context.Background()); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		floorP50 = report(b, lat)
	})
	for _, name := range []string{ModePaper, ModeLive, ModePaper + "_fenced", ModeLive + "_fenced"} {
		b.Run(name, func(b *testing.B) {
			mode, fenced := strings.CutSuffix(name, "_fenced")
			fence := func(d *Deps) {
				if fenced {
					d.Fence, d.Term = newBenchFence(1), 1
				}
			}
			cfg := liveCfg()
			cfg.Mode, cfg.Risk = mode, RiskConfig{}
			cfg.Paper.Balances = map[string]string{"USDT": "1000000000"}
			var pid *actor.PID
			if mode == ModeLive {
				pid = ls.startOrders(b, cfg, b.TempDir(), fence)
			} else {
				deps := Deps{Connector: ls.conn, StateDir: b.TempDir(), Logger: actortest.Discard()}
				fence(&deps)
				pid = actortest.Spawn(b, ls.sys, Props(cfg, deps))
				actortest.Eventually(b, 10*time.Second, func() bool {
					r, err := actortest.TryRequest[*messages.ReconcileResponse](ls.sys, pid, &messages.ReconcileRequest{}, time.Second)
					return err == nil && r.GetState().GetGate() == gateOpen
				}, "paper gate open")
				last := dec(tk.GetLastPrice())
				ls.sys.Root.Send(pid, messages.NewEvent("book.BTCUSDT.update", "bench", book(fmtDec(last), fmtDec(last+10))))
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				r := actortest.Request[*messages.PlaceTradeOrderResponse](b, ls.sys, pid, req(i))
				lat = append(lat, time.Since(start))
				if r.GetError() != nil || r.GetOrder().GetStatus() == messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN {
					b.Fatalf("place: %v", r)
				}
			}
			p50 := report(b, lat)
			if mode == ModeLive && floorP50 > 0 {
				b.ReportMetric(float64(p50)/float64(floorP50), "p50_vs_floor")
			}
		})
	}
}

// benchFence answers MayAct as election.Guard does: an atomic load of the
// term's proof, a clock read, an atomic load of its deadline.
type benchFence struct {
	epoch time.Time
	cur   atomic.Pointer[benchProof]
}

type benchProof struct {
	token int64
	until atomic.Int64 // ns since epoch
}

func newBenchFence(token int64) *benchFence {
	f := &benchFence{epoch: time.Now()}
	p := &benchProof{token: token}
	p.until.Store(int64(time.Hour))
	f.cur.Store(p)
	return f
}

// MayAct implements Fence.
func (f *benchFence) MayAct() (int64, bool) {
	p := f.cur.Load()
	if p == nil || int64(time.Since(f.epoch)) >= p.until.Load() {
		return 0, false
	}
	return p.token, true
}

// BenchmarkFenceCheck is the cost of one fence check on the hot path (an
// order asks twice: at admission and just before sending).
//
//	go test -run '^$' -bench FenceCheck ./actors/orders/
func BenchmarkFenceCheck(b *testing.B) {
	a := newActor(DefaultConfig(), Deps{Fence: newBenchFence(1), Term: 1})
	for b.Loop() {
		if !a.mayAct(nil, actPlace, "") {
			b.Fatal("refused")
		}
	}
}

// report adds p50 and p99 (µs) to the benchmark's output and returns p50.
func report(b *testing.B, lat []time.Duration) time.Duration {
	b.StopTimer()
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds()), "p50_µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99_µs")
	return p50
}
