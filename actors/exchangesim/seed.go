package exchangesim

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/shopspring/decimal"
)

// Seeding bounds: a seed is built under the exchange lock, so it is kept to what
// a benchmark needs.
const (
	maxSeedOrders = 100_000
	maxSeedTrades = 1_000_000
)

// Seed asks for an account to be given resting orders and past fills at once, as if a
// bot had traded while its daemon was down (see Exchange.Seed).
type Seed struct {
	// APIKey is the account.
	APIKey string `json:"api_key"`
	// Symbol is the market of every seeded order.
	Symbol string `json:"symbol"`
	// OpenOrders is how many resting BUY LIMIT GTC orders to create, at half the
	// current price so that they do not fill. 0..100000.
	OpenOrders int `json:"open_orders"`
	// FilledOrders is how many BUY LIMIT orders to create and fill completely as
	// maker at the current price, sharing Trades between them. 0..100000; it must
	// be > 0 when Trades is.
	FilledOrders int `json:"filled_orders"`
	// Trades is how many fills the FilledOrders get in all (each at least one).
	// 0..1000000.
	Trades int `json:"trades"`
	// FillOpen is how many fills to spread over the account's orders of Symbol that
	// are resting before this seed (those a daemon placed and journaled), as maker
	// fills at their own price; each such order ends FILLED. 0..1000000; each order
	// must have at least as many quantity steps left as fills it gets.
	FillOpen int `json:"fill_open"`
	// ClientIDPrefix starts the client order ids: PREFIX-o-N for the open orders and
	// PREFIX-f-N for the filled ones (N from 1). Default "seed".
	ClientIDPrefix string `json:"client_id_prefix"`
}

// SeedResult says what Exchange.Seed created.
type SeedResult struct {
	// OpenOrders and FilledOrders are the orders created.
	OpenOrders   int `json:"open_orders"`
	FilledOrders int `json:"filled_orders"`
	// Filled is how many resting orders FillOpen filled.
	Filled int `json:"filled"`
	// Trades is the number of fills (FillOpen's included); their ids run from FirstTradeID to LastTradeID
	// (other trades of the symbol may lie between them only if the market stepped).
	Trades       int   `json:"trades"`
	FirstTradeID int64 `json:"first_trade_id"`
	LastTradeID  int64 `json:"last_trade_id"`
}

func (s *Seed) validate() error {
	var errs []error
	if s.APIKey == "" {
		errs = append(errs, errors.New("api_key must not be empty"))
	}
	if s.OpenOrders < 0 || s.OpenOrders > maxSeedOrders {
		errs = append(errs, fmt.Errorf("open_orders must be in [0, %d]", maxSeedOrders))
	}
	if s.FilledOrders < 0 || s.FilledOrders > maxSeedOrders {
		errs = append(errs, fmt.Errorf("filled_orders must be in [0, %d]", maxSeedOrders))
	}
	if s.Trades < 0 || s.Trades > maxSeedTrades {
		errs = append(errs, fmt.Errorf("trades must be in [0, %d]", maxSeedTrades))
	}
	if s.FillOpen < 0 || s.FillOpen > maxSeedTrades {
		errs = append(errs, fmt.Errorf("fill_open must be in [0, %d]", maxSeedTrades))
	}
	if s.Trades < s.FilledOrders || (s.FilledOrders == 0) != (s.Trades == 0) {
		errs = append(errs, errors.New("trades must be >= filled_orders, and both 0 or both > 0"))
	}
	if s.ClientIDPrefix == "" {
		s.ClientIDPrefix = "seed"
	}
	if !clientIDRE.MatchString(s.ClientIDPrefix + "-o-" + strconv.Itoa(maxSeedOrders)) {
		errs = append(errs, errors.New("client_id_prefix: client ids must match ^[.A-Za-z0-9_-]{1,36}$"))
	}
	return errors.Join(errs...)
}

// Seed gives an account resting orders and filled orders with their trades in one step,
// without order-rate counting, user data events or weight: the state a daemon finds
// after missing fills while it was down ("start with 1,000 open orders and 10,000
// missed fills"). The funds the orders use are credited first, so balances stay
// consistent (/account free + locked match the orders and trades). Client order ids
// must not be open already.
func (e *Exchange) Seed(s Seed) (SeedResult, error) {
	var res SeedResult
	if err := s.validate(); err != nil {
		return res, fmt.Errorf("exchangesim: seed: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[s.APIKey]
	if a == nil {
		return res, fmt.Errorf("exchangesim: seed: unknown api_key %q", s.APIKey)
	}
	m := e.markets[s.Symbol]
	if m == nil {
		return res, fmt.Errorf("exchangesim: seed: unknown symbol %q", s.Symbol)
	}
	for _, kind := range []string{"o", "f"} {
		if prev := a.byClient[m.name][s.ClientIDPrefix+"-"+kind+"-1"]; prev != nil && prev.isOpen() {
			return res, fmt.Errorf("exchangesim: seed: client ids %s-%s-N are in use", s.ClientIDPrefix, kind)
		}
	}
	var resting []*order
	for _, o := range m.open {
		if o.acct == a && o.isOpen() {
			resting = append(resting, o)
		}
	}
	if err := checkFillOpen(resting, m, s.FillOpen); err != nil {
		return res, fmt.Errorf("exchangesim: seed: %w", err)
	}
	now := e.nowMs()
	res.FirstTradeID = m.nextTrade
	if s.FillOpen > 0 {
		res.Filled, res.Trades = len(resting), s.FillOpen
		e.fillResting(resting, m, s.FillOpen, now)
	}
	last := m.price(m.px)
	low := last.Div(decimal.NewFromInt(2)).Div(m.tickSz).Floor().Mul(m.tickSz)
	for i := range s.OpenOrders {
		o := e.seedOrder(a, m, fmt.Sprintf("%s-o-%d", s.ClientIDPrefix, i+1), low, 1, now)
		m.open = append(m.open, o)
	}
	res.OpenOrders = s.OpenOrders
	for i := range s.FilledOrders {
		n := s.Trades / s.FilledOrders
		if i < s.Trades%s.FilledOrders {
			n++
		}
		o := e.seedOrder(a, m, fmt.Sprintf("%s-f-%d", s.ClientIDPrefix, i+1), last, n, now)
		part := o.origQty.Div(decimal.NewFromInt(int64(n)))
		for range n {
			e.fill(o, o.price, part, true, now)
		}
		o.status = statusFilled
		e.release(o)
		res.Trades += n
	}
	res.FilledOrders = s.FilledOrders
	res.LastTradeID = m.nextTrade - 1
	a.updateTime = now
	return res, nil
}

// share is how many of n fills the i-th of k orders gets.
func share(n, k, i int) int {
	if i < n%k {
		return n/k + 1
	}
	return n / k
}

// checkFillOpen reports whether n fills can be spread over the resting orders.
func checkFillOpen(resting []*order, m *market, n int) error {
	if n == 0 {
		return nil
	}
	if len(resting) == 0 {
		return errors.New("fill_open: the account has no resting order on the symbol")
	}
	for i, o := range resting {
		steps := o.origQty.Sub(o.executed).Div(m.step).IntPart()
		if k := share(n, len(resting), i); int64(k) > steps {
			return fmt.Errorf("fill_open: order %q has %d quantity steps left, fewer than its %d fills", o.clientID, steps, k)
		}
	}
	return nil
}

// fillResting fills each resting order completely with its share of n maker fills.
// The caller holds e.mu.
func (e *Exchange) fillResting(resting []*order, m *market, n int, now int64) {
	for i, o := range resting {
		k := share(n, len(resting), i)
		steps := o.origQty.Sub(o.executed).Div(m.step).IntPart()
		part := m.step.Mul(decimal.NewFromInt(steps / int64(k)))
		for j := range k {
			q := part
			if j == k-1 {
				q = o.origQty.Sub(o.executed)
			}
			e.fill(o, o.price, q, true, now)
		}
		e.release(o)
	}
	m.removeClosed()
}

// seedOrder creates a resting BUY LIMIT order of parts × the smallest quantity worth
// 10 quote at px, crediting and locking its quote. The caller holds e.mu.
func (e *Exchange) seedOrder(a *account, m *market, clientID string, px decimal.Decimal, parts int, now int64) *order {
	part := decimal.NewFromInt(10).Div(px).Div(m.step).Ceil().Mul(m.step)
	qty := part.Mul(decimal.NewFromInt(int64(parts)))
	o := &order{acct: a, m: m, id: m.nextOrder, clientID: clientID, side: sideBuy, typ: typeLimit, tif: tifGTC,
		price: px, origQty: qty, status: statusNew, time: now, updateTime: now, working: true, workingTime: now}
	m.nextOrder++
	o.locked = qty.Mul(px)
	q := a.bal(m.quote)
	q.locked = q.locked.Add(o.locked)
	a.orders[m.name] = append(a.orders[m.name], o)
	if a.byClient[m.name] == nil {
		a.byClient[m.name] = map[string]*order{}
	}
	a.byClient[m.name][clientID] = o
	return o
}

// AccountOrder is the admin view of one order of an account.
type AccountOrder struct {
	Symbol        string `json:"symbol"`
	OrderID       int64  `json:"order_id"`
	ClientOrderID string `json:"client_order_id"`
	Side          string `json:"side"`
	Type          string `json:"type"`
	Status        string `json:"status"`
	Price         string `json:"price"`
	OrigQty       string `json:"orig_qty"`
	ExecutedQty   string `json:"executed_qty"`
}

// AccountTrade is the admin view of one trade of an account.
type AccountTrade struct {
	Symbol          string `json:"symbol"`
	ID              int64  `json:"id"`
	OrderID         int64  `json:"order_id"`
	Buyer           bool   `json:"buyer"`
	Maker           bool   `json:"maker"`
	Price           string `json:"price"`
	Qty             string `json:"qty"`
	QuoteQty        string `json:"quote_qty"`
	Commission      string `json:"commission"`
	CommissionAsset string `json:"commission_asset"`
}

// AccountOrders returns every order of the account apiKey (open and closed, every
// symbol in configuration order, by order id), for tests that prove no order was sent
// twice or lost.
func (e *Exchange) AccountOrders(apiKey string) ([]AccountOrder, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[apiKey]
	if a == nil {
		return nil, fmt.Errorf("exchangesim: unknown api_key %q", apiKey)
	}
	var out []AccountOrder
	for _, s := range e.symbols {
		for _, o := range a.orders[s] {
			out = append(out, AccountOrder{Symbol: s, OrderID: o.id, ClientOrderID: o.clientID, Side: o.side, Type: o.typ,
				Status: o.status, Price: fmt8(o.price), OrigQty: fmt8(o.origQty), ExecutedQty: fmt8(o.executed)})
		}
	}
	return out, nil
}

// AccountTrades returns every trade of the account apiKey (every symbol in configuration
// order, by trade id).
func (e *Exchange) AccountTrades(apiKey string) ([]AccountTrade, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[apiKey]
	if a == nil {
		return nil, fmt.Errorf("exchangesim: unknown api_key %q", apiKey)
	}
	var out []AccountTrade
	for _, s := range e.symbols {
		for _, t := range a.trades[s] {
			out = append(out, AccountTrade{Symbol: s, ID: t.id, OrderID: t.orderID, Buyer: t.isBuyer, Maker: t.isMaker,
				Price: fmt8(t.price), Qty: fmt8(t.qty), QuoteQty: fmt8(t.quoteQty), Commission: fmt8(t.commission),
				CommissionAsset: t.commissionAsset})
		}
	}
	return out, nil
}

// ClientOrderCounts returns how many orders of the account apiKey carry each client
// order id (every symbol, open and closed). A count above 1 means an intent was placed
// more than once (a blind resend after an unknown outcome).
func (e *Exchange) ClientOrderCounts(apiKey string) (map[string]int, error) {
	orders, err := e.AccountOrders(apiKey)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(orders))
	for _, o := range orders {
		out[o.ClientOrderID]++
	}
	return out, nil
}
