package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// The burst figure: 2,000 orders from 50 strategies at once.
const (
	burstStrategies = 50
	burstEach       = 40
)

// burstFigure sends burstEach marketable LIMIT IOC orders from each of burstStrategies JSON-RPC
// clients at once (each client names its own strategy), live against a simulator
// with Binance's default limits (the orders fill, so the ORDERS count of unfilled
// orders stays low), and reports how long until every answer, how many
// orders per second were journaled, what the answers were, whether the journal
// holds them all, and how many 429/418 the simulator sent.
func burstFigure(w io.Writer, bin, dir string) error {
	ex, err := newSim(nil, 0)
	if err != nil {
		return err
	}
	defer func() { _ = ex.Close() }()
	d, c, _, err := openDaemon(bin, dir, daemonConfig(ex, "live", ""), 60*time.Second)
	if err != nil {
		return err
	}
	defer d.stop()
	defer func() { _ = c.Close() }()
	clients := make([]*client.Client, burstStrategies)
	for i := range clients {
		if clients[i], err = d.dial(); err != nil {
			return err
		}
		defer func() { _ = clients[i].Close() }()
	}
	qtys := map[string]string{"BTCUSDT": "0.001", "ETHUSDT": "0.01"}
	prices := map[string]string{} // marketable: 1 % through the (still) price, so each order fills at once
	for _, sym := range []string{"BTCUSDT", "ETHUSDT"} {
		px := decimal.RequireFromString(ex.Price(sym))
		prices[sym+"BUY"] = px.Mul(decimal.NewFromFloat(1.01)).Round(2).String()
		prices[sym+"SELL"] = px.Mul(decimal.NewFromFloat(0.99)).Round(2).String()
	}
	limitedBefore := ex.RateLimitAnswers()
	var mu sync.Mutex
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for i, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range burstEach {
				side := []string{"BUY", "SELL"}[j%2]
				sym := []string{"BTCUSDT", "ETHUSDT"}[(i+j)%2]
				var res messages.PlaceTradeOrderResponse
				err := rpcCall(cl, "trading.order.place", map[string]any{"strategy": fmt.Sprintf("burst%02d", i),
					"symbol": sym, "side": side, "type": "LIMIT", "time_in_force": "IOC", "quantity": qtys[sym], "price": prices[sym+side]}, &res)
				key := res.GetOrder().GetStatus().String()
				if err != nil {
					key = "rpc error: " + firstLine(err.Error())
				} else if r := res.GetOrder().GetReason(); r != "" {
					key += ": " + r
				}
				mu.Lock()
				outcomes[key]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	limited := ex.RateLimitAnswers() - limitedBefore
	journaled, final, err := burstJournal(c)
	if err != nil {
		return err
	}
	total := burstStrategies * burstEach
	fmt.Fprintf(w, "burst: %d marketable LIMIT IOC orders from %d strategies (one JSON-RPC client each), live on the simulator (ORDERS limit 50/10s unfilled, weight 6000/min)\n", total, burstStrategies)
	fmt.Fprintf(w, "burst: all answered in %s: %.0f orders/s placed and journaled end to end; journaled %d/%d; 429/418 from the simulator: %d\n",
		took.Round(time.Millisecond), float64(total)/took.Seconds(), journaled, total, limited)
	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "burst:   %5d %s\n", outcomes[k], k)
	}
	fmt.Fprintf(w, "burst: journal statuses once settled (at most 5 s): %v\n", final)
	fmt.Fprintf(w, "burst: journal commits/s with group commit: see BenchmarkJournalGroupCommit (actors/orders/journal); not observable over RPC\n")
	var errs []error
	if journaled != total {
		errs = append(errs, fmt.Errorf("%d of %d orders journaled", journaled, total))
	}
	if limited != 0 {
		errs = append(errs, fmt.Errorf("the simulator answered %d 429/418", limited))
	}
	for k, n := range outcomes {
		if strings.Contains(k, "-1015") || strings.Contains(k, "-1003") || strings.Contains(strings.ToLower(k), "rate") {
			errs = append(errs, fmt.Errorf("%d orders refused for rate: %s", n, k))
		}
	}
	return errors.Join(errs...)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// burstJournal counts the burst's orders in the journal and their statuses, once
// none is NEW any more (IOC orders end FILLED or EXPIRED) or after 5 s.
func burstJournal(c *client.Client) (int, map[string]int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var orders messages.TradeOrdersResponse
		if err := rpcCall(c, "trading.orders", map[string]any{"limit": 10000}, &orders); err != nil {
			return 0, nil, err
		}
		n, statuses := 0, map[string]int{}
		for _, o := range orders.GetOrders() {
			if strings.HasPrefix(o.GetStrategy(), "burst") {
				n++
				statuses[strings.TrimPrefix(o.GetStatus().String(), "TRADE_ORDER_STATUS_")]++
			}
		}
		if statuses["NEW"] == 0 || time.Now().After(deadline) {
			return n, statuses, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
