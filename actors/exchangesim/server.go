// Package exchangesim is a Binance-compatible simulated spot exchange served on
// 127.0.0.1 over real HTTP and WebSocket, so that the unmodified go-binance client
// (v2.8.7) can be run and tested offline.
//
// It serves the /api/v3 REST routes (market data, signed orders and account), the
// market streams on /ws/<stream> and /stream?streams=, user data through the WebSocket
// API on /ws-api/v3, and an admin API under /admin/. Prices follow a seeded,
// deterministic random walk per symbol (or replay closes from a klines CSV); resting
// LIMIT orders fill when the price crosses them. See README.md for routes and defaults.
package exchangesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// Name is the module name under which superbotd hosts the simulator (module type "thread").
const Name = "exchange-sim"

// ErrClosed is returned by Start after Close, or when Start is called twice.
var ErrClosed = errors.New("exchangesim: closed or already started")

// Option customises an Exchange built by New.
type Option func(*Exchange)

// WithClock makes the exchange read time from now instead of time.Now (tests).
// Signed requests are checked against this clock, so clients must sync with
// /api/v3/time (go-binance: NewSetServerTimeService) when it differs from the wall clock.
func WithClock(now func() time.Time) Option { return func(e *Exchange) { e.clock = now } }

// WithListener makes Start serve on ln instead of binding cfg.Listen (the
// daemon binds the simulator's port before the connector starts, so that
// the connector gets the bound address). Close closes ln.
func WithListener(ln net.Listener) Option { return func(e *Exchange) { e.ln = ln } }

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option { return func(e *Exchange) { e.log = l } }

// Exchange is a running (or startable) simulated exchange. All methods are safe for
// concurrent use.
type Exchange struct {
	cfg       Config
	log       *slog.Logger
	clock     func() time.Time
	makerRate decimal.Decimal
	takerRate decimal.Decimal

	mu       sync.Mutex // guards markets, accounts and everything they hold
	markets  map[string]*market
	symbols  []string // config order
	accounts map[string]*account
	nextUID  int64
	nextList int64 // the next orderListId

	// replay state (replay.go): replaying and driver are set by New
	replaying   bool
	replayClock atomic.Int64 // ms: the exchange clock while replaying
	driver      *market      // the first replayed symbol: its rows' times are the clock's
	replayN     int64        // the next bar to print (counting every lap)
	barOpen     bool         // StepTrades printed a bar that CloseBar has not closed
	barEnd      int64        // ms: the open bar's end

	limiter *limiter
	limited atomic.Int64 // 429 and 418 answers on the REST routes
	faults  *faultSet
	hub     *hub

	lifeMu  sync.Mutex
	started bool
	closed  bool
	wg      sync.WaitGroup // handlers, streams and the ticker
	done    chan struct{}
	ln      net.Listener
	srv     *http.Server
	routes  map[string]*route
}

// New validates cfg and builds an exchange, generating the configured price backfill.
// Nothing listens until Start.
func New(cfg Config, opts ...Option) (*Exchange, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("exchangesim: config: %w", err)
	}
	e := &Exchange{
		cfg:      cfg,
		log:      slog.New(slog.DiscardHandler),
		clock:    time.Now,
		markets:  map[string]*market{},
		accounts: map[string]*account{},
		nextList: 1, // go-binance does not send orderListId 0
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(e)
	}
	e.makerRate, _ = decimal.NewFromString(cfg.MakerCommission)
	e.takerRate, _ = decimal.NewFromString(cfg.TakerCommission)
	e.limiter = newLimiter(cfg)
	e.faults = &faultSet{}
	e.hub = newHub()
	for _, a := range cfg.Accounts {
		if err := e.AddAccount(a); err != nil {
			return nil, err
		}
	}
	rows, err := e.loadReplays(cfg)
	if err != nil {
		return nil, err
	}
	now := e.nowMs()
	step := cfg.TickInterval
	if step <= 0 {
		step = time.Second
	}
	stepMs := step.Milliseconds()
	n := min(int64(cfg.Backfill/step), int64(cfg.MaxHistory)) // older ticks would be trimmed anyway
	// The live history starts at the genesis, the whole minute holding the first
	// backfill tick; the synthetic past ends there (history.go).
	genesis := bucketStart(now-n*stepMs, "1m")
	for i, s := range cfg.Symbols {
		m, err := newMarket(s, cfg.Seed+int64(i), cfg.DepthLevels, cfg.MaxHistory, rows[i])
		if err != nil {
			return nil, fmt.Errorf("exchangesim: %w", err)
		}
		e.markets[s.Symbol] = m
		e.symbols = append(e.symbols, s.Symbol)
		if m.replay != nil { // no backfill: the replay is the live history, from its first row
			m.setGenesis(bucketStart(now, "1m"), max(m.replay[0].dur/4, 1), m.hseed)
			if e.driver == nil {
				e.driver = m
			}
			continue
		}
		m.setGenesis(genesis, stepMs, m.hseed)
		start := m.px // the oldest tick is at the configured start price
		m.ticks = slices.Grow(m.ticks, int(n)+1)
		m.appendTick(now-n*stepMs, &start, -1)
		for j := n - 1; j >= 0; j-- {
			m.appendTick(now-j*stepMs, nil, -1)
		}
		m.rebuildBook()
	}
	e.routes = buildRoutes()
	return e, nil
}

// AddAccount adds an account (its API key must be new) with its starting balances.
func (e *Exchange) AddAccount(a Account) error {
	if a.APIKey == "" || a.SecretKey == "" {
		return errors.New("exchangesim: account: api_key and secret_key must not be empty")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.accounts[a.APIKey] != nil {
		return fmt.Errorf("exchangesim: account: duplicate api_key %q", a.APIKey)
	}
	e.nextUID++
	acc := &account{key: a.APIKey, secret: a.SecretKey, uid: 100000 + e.nextUID, balances: map[string]*balance{},
		orders: map[string][]*order{}, byClient: map[string]map[string]*order{}, trades: map[string][]*trade{}}
	for asset, v := range a.Balances {
		d, err := decimal.NewFromString(v)
		if err != nil || d.IsNegative() {
			return fmt.Errorf("exchangesim: account %q: balance %s: bad amount %q", a.APIKey, asset, v)
		}
		acc.bal(asset).free = d
	}
	e.accounts[a.APIKey] = acc
	return nil
}

// nowMs is the exchange clock: the replay's (replay.go) or the configured clock's.
func (e *Exchange) nowMs() int64 {
	if e.replaying {
		return e.replayClock.Load()
	}
	return e.clock().UnixMilli()
}

// Start binds the listener (bind errors such as "address already in use" are returned)
// and serves HTTP, WebSocket and the price ticker in background goroutines.
func (e *Exchange) Start() error {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.started || e.closed {
		return ErrClosed
	}
	ln := e.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", e.cfg.Listen); err != nil {
			return fmt.Errorf("exchangesim: listen %s: %w", e.cfg.Listen, err)
		}
	}
	e.ln = ln
	e.started = true
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", e.serveAPI)
	mux.HandleFunc("/sapi/", e.serveAPI)
	mux.HandleFunc("/ws/", e.serveRawStream)
	mux.HandleFunc("/ws", e.serveRawStream)
	mux.HandleFunc("/stream", e.serveCombinedStream)
	mux.HandleFunc("/ws-api/v3", e.serveWSAPI)
	mux.HandleFunc("/admin/", e.serveAdmin)
	e.srv = &http.Server{Handler: e.tracked(mux), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelDebug)}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("serve failed", "err", err)
		}
	}()
	if e.cfg.TickInterval > 0 {
		e.wg.Add(1)
		go e.runTicker()
	}
	e.log.Info("exchange simulator started", "addr", ln.Addr().String())
	return nil
}

func (e *Exchange) runTicker() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
			e.Step()
		}
	}
}

// tracked counts running handlers so that Close can wait for them, and refuses new ones after Close.
func (e *Exchange) tracked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.lifeMu.Lock()
		if e.closed {
			e.lifeMu.Unlock()
			http.Error(w, "closed", http.StatusServiceUnavailable)
			return
		}
		e.wg.Add(1)
		e.lifeMu.Unlock()
		defer e.wg.Done()
		h.ServeHTTP(w, r)
	})
}

// Addr returns the bound host:port (empty before Start).
func (e *Exchange) Addr() string {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.ln == nil {
		return ""
	}
	return e.ln.Addr().String()
}

// BaseURL returns the REST base URL, e.g. "http://127.0.0.1:18080" (for go-binance's Client.BaseURL).
func (e *Exchange) BaseURL() string { return "http://" + e.Addr() }

// WSBaseURL returns the WebSocket base URL, e.g. "ws://127.0.0.1:18080"; append "/ws",
// "/stream?streams=" or "/ws-api/v3" for go-binance's package URL variables.
func (e *Exchange) WSBaseURL() string { return "ws://" + e.Addr() }

// Close stops the server, the ticker and every stream and waits until all of their
// goroutines have returned. It is idempotent.
func (e *Exchange) Close() error {
	e.lifeMu.Lock()
	if e.closed {
		e.lifeMu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	srv := e.srv
	e.lifeMu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	e.hub.closeAll(false, 0)
	e.wg.Wait()
	return err
}

// apiError is a Binance error answer.
type apiError struct {
	status     int
	code       int
	msg        string
	retryAfter int // seconds; 0 = no header
	data       any // cancelReplace's results, sent as "data" when set
}

func errf(status, code int, format string, args ...any) *apiError {
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	return &apiError{status: status, code: code, msg: format}
}

func errMandatory(name string) *apiError {
	return errf(400, -1102, "Mandatory parameter '%s' was not sent, was empty/null, or malformed.", name)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, ok := v.(json.RawMessage) // built by hand (klines): written as is
	var err error
	if !ok {
		b, err = json.Marshal(v)
	}
	if err != nil {
		status, b = 500, []byte(`{"code":-1000,"msg":"An unknown error occurred while processing the request."}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, ae *apiError) {
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	body := map[string]any{"code": ae.code, "msg": ae.msg}
	if ae.data != nil {
		body["data"] = ae.data
	}
	writeJSON(w, ae.status, body)
}

// maxBody bounds request bodies; Binance requests are small.
const maxBody = 1 << 20

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// fmt8 renders a decimal with 8 fixed decimals, as Binance does.
func fmt8(d decimal.Decimal) string { return d.StringFixed(8) }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
