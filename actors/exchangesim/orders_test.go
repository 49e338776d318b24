package exchangesim

import (
	"strings"
	"testing"

	binance "github.com/adshao/go-binance/v2"
	"github.com/shopspring/decimal"
)

// orderExchange is a private exchange with BTCUSDT at 60000 and a funded client.
func orderExchange(t *testing.T, mutate func(*Config)) (*Exchange, *binance.Client) {
	t.Helper()
	cfg := testConfig()
	cfg.Backfill = 0
	if mutate != nil {
		mutate(&cfg)
	}
	ex := startExchange(t, cfg)
	if err := ex.SetPrice("BTCUSDT", "60000"); err != nil {
		t.Fatal(err)
	}
	c, _, _ := newAccount(t, ex, map[string]string{"USDT": "100000", "BTC": "1"})
	return ex, c
}

func TestMarketOrder(t *testing.T) {
	tests := []struct {
		name     string
		side     binance.SideType
		qty      string
		quoteQty string
	}{
		{"buy quantity", binance.SideTypeBuy, "0.8", ""},
		{"sell quantity", binance.SideTypeSell, "0.3", ""},
		{"buy quoteOrderQty", binance.SideTypeBuy, "", "1000"},
		{"sell quoteOrderQty", binance.SideTypeSell, "", "1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := orderExchange(t, nil)
			before := balances(t, c)
			svc := c.NewCreateOrderService().Symbol("BTCUSDT").Side(tt.side).Type(binance.OrderTypeMarket)
			if tt.qty != "" {
				svc.Quantity(tt.qty)
			} else {
				svc.QuoteOrderQty(tt.quoteQty)
			}
			o, err := svc.Do(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != binance.OrderStatusTypeFilled || len(o.Fills) == 0 {
				t.Fatalf("order = %+v", o)
			}
			qty, quote, comm := decimal.Zero, decimal.Zero, decimal.Zero
			for _, f := range o.Fills {
				qty = qty.Add(d(f.Quantity))
				quote = quote.Add(d(f.Price).Mul(d(f.Quantity)))
				comm = comm.Add(d(f.Commission))
			}
			if !qty.Equal(d(o.ExecutedQuantity)) || !quote.Equal(d(o.CummulativeQuoteQuantity)) {
				t.Fatalf("fills %s/%s vs order %s/%s", qty, quote, o.ExecutedQuantity, o.CummulativeQuoteQuantity)
			}
			if tt.qty != "" && !qty.Equal(d(tt.qty)) {
				t.Fatalf("executed %s, want %s", qty, tt.qty)
			}
			if tt.quoteQty != "" && (quote.GreaterThan(d(tt.quoteQty)) || quote.LessThan(d(tt.quoteQty).Sub(d("1")))) {
				t.Fatalf("spent %s for quoteOrderQty %s", quote, tt.quoteQty)
			}
			after := balances(t, c)
			wantBTC, wantUSDT := before["BTC"][0], before["USDT"][0]
			if tt.side == binance.SideTypeBuy {
				wantBTC, wantUSDT = wantBTC.Add(qty).Sub(comm), wantUSDT.Sub(quote)
			} else {
				wantBTC, wantUSDT = wantBTC.Sub(qty), wantUSDT.Add(quote).Sub(comm)
			}
			if !after["BTC"][0].Equal(wantBTC) || !after["USDT"][0].Equal(wantUSDT) {
				t.Fatalf("balances BTC %s USDT %s, want %s %s", after["BTC"][0], after["USDT"][0], wantBTC, wantUSDT)
			}
			trades, err := c.NewListTradesService().Symbol("BTCUSDT").OrderId(o.OrderID).Do(ctx(t))
			if err != nil || len(trades) != len(o.Fills) {
				t.Fatalf("myTrades: %d vs %d fills, %v", len(trades), len(o.Fills), err)
			}
			for i, tr := range trades {
				if tr.ID != o.Fills[i].TradeID || tr.Price != o.Fills[i].Price || tr.IsMaker {
					t.Fatalf("trade %d = %+v, fill %+v", i, tr, o.Fills[i])
				}
			}
		})
	}
}

func TestLimitOrderLifecycle(t *testing.T) {
	ex, c := orderExchange(t, nil)
	o, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price("59000").NewClientOrderID("buy-1").Do(ctx(t))
	if err != nil || o.Status != binance.OrderStatusTypeNew || o.ClientOrderID != "buy-1" || len(o.Fills) != 0 {
		t.Fatalf("order = %+v, %v", o, err)
	}
	b := balances(t, c)
	if !b["USDT"][0].Equal(d("99410")) || !b["USDT"][1].Equal(d("590")) {
		t.Fatalf("after placing: USDT %v", b["USDT"])
	}
	open, err := c.NewListOpenOrdersService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(open) != 1 || open[0].OrderID != o.OrderID || !open[0].IsWorking {
		t.Fatalf("openOrders = %+v, %v", open, err)
	}
	ex.Step() // the walk from 60000 cannot reach 59000 in one step
	if got, _ := c.NewGetOrderService().Symbol("BTCUSDT").OrderID(o.OrderID).Do(ctx(t)); got.Status != binance.OrderStatusTypeNew {
		t.Fatalf("filled too early: %+v", got)
	}
	if err := ex.SetPrice("BTCUSDT", "58999.5"); err != nil {
		t.Fatal(err)
	}
	got, err := c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID("buy-1").Do(ctx(t))
	if err != nil || got.Status != binance.OrderStatusTypeFilled || got.ExecutedQuantity != "0.01000000" || got.CummulativeQuoteQuantity != "590.00000000" {
		t.Fatalf("after cross: %+v, %v", got, err)
	}
	b = balances(t, c)
	if !b["USDT"][0].Equal(d("99410")) || !b["USDT"][1].IsZero() || !b["BTC"][0].Equal(d("1.00999")) {
		t.Fatalf("after fill: %v", b)
	}
	s, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.5").Price("61000").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if b = balances(t, c); !b["BTC"][1].Equal(d("0.5")) || !b["BTC"][0].Equal(d("0.50999")) {
		t.Fatalf("sell lock: %v", b["BTC"])
	}
	if err := ex.SetPrice("BTCUSDT", "61000"); err != nil {
		t.Fatal(err)
	}
	b = balances(t, c)
	if !b["BTC"][1].IsZero() || !b["USDT"][0].Equal(d("99410").Add(d("30500")).Sub(d("30.5"))) {
		t.Fatalf("after sell fill: %v", b)
	}
	trades, err := c.NewListTradesService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(trades) != 2 {
		t.Fatalf("myTrades = %+v, %v", trades, err)
	}
	if !trades[0].IsMaker || !trades[0].IsBuyer || trades[0].Commission != "0.00001000" || trades[0].CommissionAsset != "BTC" ||
		trades[1].OrderID != s.OrderID || trades[1].Commission != "30.50000000" || trades[1].CommissionAsset != "USDT" {
		t.Fatalf("trades = %+v %+v", trades[0], trades[1])
	}
	all, err := c.NewListOrdersService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(all) != 2 || all[0].OrderID != o.OrderID || all[1].Status != binance.OrderStatusTypeFilled {
		t.Fatalf("allOrders = %+v, %v", all, err)
	}
}

func TestPartialFillsAndCancel(t *testing.T) {
	ex, c := orderExchange(t, func(c *Config) { c.Symbols[0].StepLiquidity = "0.001" })
	o, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.003").Price("59000").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"0.00100000", "0.00200000"} {
		if err := ex.SetPrice("BTCUSDT", "59000"); err != nil {
			t.Fatal(err)
		}
		got, err := c.NewGetOrderService().Symbol("BTCUSDT").OrderID(o.OrderID).Do(ctx(t))
		if err != nil || got.Status != binance.OrderStatusTypePartiallyFilled || got.ExecutedQuantity != want {
			t.Fatalf("step %d: %+v, %v", i, got, err)
		}
		b := balances(t, c)
		if !b["USDT"][1].Equal(d("0.003").Sub(d(want)).Mul(d("59000"))) {
			t.Fatalf("step %d: locked %s", i, b["USDT"][1])
		}
	}
	cr, err := c.NewCancelOrderService().Symbol("BTCUSDT").OrderID(o.OrderID).Do(ctx(t))
	if err != nil || cr.Status != binance.OrderStatusTypeCanceled || cr.ExecutedQuantity != "0.00200000" {
		t.Fatalf("cancel = %+v, %v", cr, err)
	}
	b := balances(t, c)
	if !b["USDT"][1].IsZero() || !b["USDT"][0].Equal(d("100000").Sub(d("118"))) {
		t.Fatalf("after cancel: %v", b["USDT"])
	}
}

func TestTimeInForce(t *testing.T) {
	ex, _ := orderExchange(t, nil)
	c, _, _ := newAccount(t, ex, map[string]string{"USDT": "1000000"})
	depth, err := c.NewDepthService().Symbol("BTCUSDT").Limit(5).Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	best, bestQty := depth.Asks[0].Price, d(depth.Asks[0].Quantity)
	over := bestQty.Add(d("0.1")).String()
	tests := []struct {
		name       string
		typ        binance.OrderType
		tif        binance.TimeInForceType
		price      string
		wantStatus binance.OrderStatusType
		wantExec   decimal.Decimal
		wantCode   int64
	}{
		{"IOC remainder expires", binance.OrderTypeLimit, binance.TimeInForceTypeIOC, best, binance.OrderStatusTypeExpired, bestQty, 0},
		{"FOK expires unfilled", binance.OrderTypeLimit, binance.TimeInForceTypeFOK, best, binance.OrderStatusTypeExpired, decimal.Zero, 0},
		{"GTC takes then rests", binance.OrderTypeLimit, binance.TimeInForceTypeGTC, best, binance.OrderStatusTypePartiallyFilled, bestQty, 0},
		{"LIMIT_MAKER would take", binance.OrderTypeLimitMaker, "", best, "", decimal.Zero, -2010},
		{"LIMIT_MAKER rests", binance.OrderTypeLimitMaker, "", "59000", binance.OrderStatusTypeNew, decimal.Zero, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(tt.typ).Quantity(over).Price(tt.price)
			if tt.tif != "" {
				svc.TimeInForce(tt.tif)
			}
			o, err := svc.Do(ctx(t))
			if tt.wantCode != 0 {
				wantCode(t, err, tt.wantCode)
				return
			}
			if err != nil || o.Status != tt.wantStatus || !d(o.ExecutedQuantity).Equal(tt.wantExec) {
				t.Fatalf("order = %+v, %v", o, err)
			}
		})
	}
}

func TestOrderErrors(t *testing.T) {
	_, c := orderExchange(t, nil)
	limit := func() *binance.CreateOrderService {
		return c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price("59000")
	}
	tests := []struct {
		name    string
		svc     *binance.CreateOrderService
		code    int64
		msgPart string
	}{
		{"price off tick", limit().Price("59000.001"), -1013, "Filter failure: PRICE_FILTER"},
		{"qty off step", limit().Quantity("0.000015"), -1013, "Filter failure: LOT_SIZE"},
		{"qty too big", limit().Quantity("9001"), -1013, "Filter failure: LOT_SIZE"},
		{"market lot size", c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Type(binance.OrderTypeMarket).Quantity("101"), -1013, "Filter failure: MARKET_LOT_SIZE"},
		{"notional too small", limit().Quantity("0.00001").Price("100"), -1013, "Filter failure: NOTIONAL"},
		{"insufficient quote", limit().Quantity("2").Price("59000"), -2010, "Account has insufficient balance for requested action."},
		{"insufficient base", c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Type(binance.OrderTypeMarket).Quantity("2"), -2010, "insufficient balance"},
		{"bad symbol", limit().Symbol("NOPE"), -1121, "Invalid symbol."},
		{"bad tif", limit().TimeInForce("GTX"), -1115, "Invalid timeInForce."},
		{"bad type", limit().Type("SPOON"), -1116, "Invalid orderType."},
		{"bad side", limit().Side("UP"), -1117, "Invalid side."},
		{"missing side", limit().Side(""), -1102, "'side'"},
		{"missing price", c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).TimeInForce(binance.TimeInForceTypeGTC).Quantity("1"), -1102, "'price'"},
		{"missing tif", c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).Quantity("1").Price("1"), -1102, "'timeInForce'"},
		{"market without qty", c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket), -1102, "quoteOrderQty"},
		{"too much precision", limit().Quantity("0.000000001"), -1111, "too much precision"},
		{"stop loss takes no price", limit().Type(binance.OrderTypeStopLoss).TimeInForce(""), -1106, "'price'"},
		{"stop loss needs stopPrice", c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Type(binance.OrderTypeStopLoss).Quantity("0.001"), -1102, "'stopPrice'"},
		{"trailing stops unsupported", limit().Type(binance.OrderTypeStopLossLimit).StopPrice("58000").TrailingDelta("100"), -1014, "Unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.svc.Do(ctx(t))
			wantCode(t, err, tt.code)
			if !strings.Contains(err.Error(), tt.msgPart) {
				t.Fatalf("err = %v, want %q", err, tt.msgPart)
			}
			if tt.code == -1013 {
				wantCode(t, tt.svc.Test(ctx(t)), tt.code)
			}
		})
	}
	if err := limit().Test(ctx(t)); err != nil {
		t.Fatalf("order/test: %v", err)
	}
	if open, _ := c.NewListOpenOrdersService().Symbol("BTCUSDT").Do(ctx(t)); len(open) != 0 {
		t.Fatalf("rejected or test orders left open orders: %+v", open)
	}
}

func TestClientOrderIDs(t *testing.T) {
	_, c := orderExchange(t, nil)
	place := func() (*binance.CreateOrderResponse, error) {
		return c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price("59000").NewClientOrderID("dup-1").Do(ctx(t))
	}
	first, err := place()
	if err != nil {
		t.Fatal(err)
	}
	_, err = place()
	wantCode(t, err, -2010)
	if !strings.Contains(err.Error(), "Duplicate order sent.") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.NewCancelOrderService().Symbol("BTCUSDT").OrigClientOrderID("dup-1").Do(ctx(t)); err != nil {
		t.Fatal(err)
	}
	_, err = c.NewCancelOrderService().Symbol("BTCUSDT").OrigClientOrderID("dup-1").Do(ctx(t))
	wantCode(t, err, -2011)
	second, err := place()
	if err != nil || second.OrderID == first.OrderID {
		t.Fatalf("reuse after close: %+v, %v", second, err)
	}
	old, err := c.NewGetOrderService().Symbol("BTCUSDT").OrderID(first.OrderID).Do(ctx(t))
	if err != nil || old.Status != binance.OrderStatusTypeCanceled || old.ClientOrderID != "dup-1" {
		t.Fatalf("closed order lookup: %+v, %v", old, err)
	}
	_, err = c.NewGetOrderService().Symbol("BTCUSDT").OrderID(999).Do(ctx(t))
	wantCode(t, err, -2013)
	_, err = c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID("nope").Do(ctx(t))
	wantCode(t, err, -2013)
	_, err = c.NewCancelOrderService().Symbol("BTCUSDT").OrderID(999).Do(ctx(t))
	wantCode(t, err, -2011)
}

func TestRespTypes(t *testing.T) {
	_, c := orderExchange(t, nil)
	tests := []struct {
		name      string
		respType  binance.NewOrderRespType
		wantFills bool
		wantState bool
	}{
		{"ACK", binance.NewOrderRespTypeACK, false, false},
		{"RESULT", binance.NewOrderRespTypeRESULT, false, true},
		{"FULL", binance.NewOrderRespTypeFULL, true, true},
		{"default FULL", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).Quantity("0.001")
			if tt.respType != "" {
				svc.NewOrderRespType(tt.respType)
			}
			o, err := svc.Do(ctx(t))
			if err != nil || o.OrderID == 0 || o.TransactTime == 0 {
				t.Fatalf("order = %+v, %v", o, err)
			}
			if (len(o.Fills) > 0) != tt.wantFills || (o.Status != "") != tt.wantState {
				t.Fatalf("%s: fills %d status %q", tt.name, len(o.Fills), o.Status)
			}
		})
	}
}

func TestCancelOpenOrders(t *testing.T) {
	_, c := orderExchange(t, nil)
	for _, p := range []string{"58000", "58500"} {
		if _, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price(p).Do(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.NewCancelOpenOrdersService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(res.Orders) != 2 || res.Orders[0].Status != binance.OrderStatusTypeCanceled {
		t.Fatalf("cancel all = %+v, %v", res, err)
	}
	open, err := c.NewListOpenOrdersService().Do(ctx(t))
	if err != nil || len(open) != 0 {
		t.Fatalf("open = %+v, %v", open, err)
	}
	if b := balances(t, c); !b["USDT"][1].IsZero() || !b["USDT"][0].Equal(d("100000")) {
		t.Fatalf("balances = %v", b["USDT"])
	}
	_, err = c.NewCancelOpenOrdersService().Symbol("BTCUSDT").Do(ctx(t))
	wantCode(t, err, -2011)
}

func TestRawParams(t *testing.T) {
	ex, _ := orderExchange(t, nil)
	_, key, secret := newAccount(t, ex, map[string]string{"USDT": "1000"})
	// no newClientOrderId: one is generated; the query's quantity wins over the body's
	r := rawSigned(t, ex, "POST", "/api/v3/order", "quantity=0.001", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.002", key, secret)
	if r.status != 200 || r.body["executedQty"] != "0.00100000" || len(r.body["clientOrderId"].(string)) != 22 {
		t.Fatalf("POST = %d %s", r.status, r.raw)
	}
	r = rawSigned(t, ex, "POST", "/api/v3/order", "", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&newClientOrderId=raw-1", key, secret)
	if r.status != 200 || r.body["status"] != "NEW" {
		t.Fatalf("POST limit = %d %s", r.status, r.raw)
	}
	// DELETE with its params in the body
	r = rawSigned(t, ex, "DELETE", "/api/v3/order", "", "symbol=BTCUSDT&origClientOrderId=raw-1", key, secret)
	if r.status != 200 || r.body["status"] != "CANCELED" || r.body["origClientOrderId"] != "raw-1" {
		t.Fatalf("DELETE = %d %s", r.status, r.raw)
	}
	if r.header.Get("X-MBX-USED-WEIGHT-1M") == "" {
		t.Fatal("no weight header")
	}
}
