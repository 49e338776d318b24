package exchangesim

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"go.uber.org/goleak"
)

func TestFaultLatency(t *testing.T) {
	ex := startExchange(t, testConfig())
	c := publicClient(t, ex)
	// The calls that must succeed get 2 s (a loaded machine can stall one
	// for hundreds of ms); the delayed one would take a minute.
	c.HTTPClient.Timeout = 2 * time.Second
	if err := ex.InjectFault(Fault{Kind: FaultLatency, Route: "/api/v3/ping", Latency: time.Minute, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewServerTimeService().Do(ctx(t)); err != nil {
		t.Fatalf("other route delayed: %v", err)
	}
	err := c.NewPingService().Do(ctx(t))
	if err == nil || apiCode(err) != 0 {
		t.Fatalf("want a client timeout, got %v", err)
	}
	if err := c.NewPingService().Do(ctx(t)); err != nil {
		t.Fatalf("fault not used up: %v", err)
	}
}

func TestFaultError(t *testing.T) {
	ex := startExchange(t, testConfig())
	c, _, _ := newAccount(t, ex, map[string]string{"USDT": "100000"})
	if err := ex.InjectFault(Fault{Kind: FaultError, Route: "POST /api/v3/order", Count: 2, Status: 503}); err != nil {
		t.Fatal(err)
	}
	place := func() error {
		_, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).Quantity("0.001").Do(ctx(t))
		return err
	}
	for range 2 {
		wantCode(t, place(), -1007)
	}
	if all, _ := c.NewListOrdersService().Symbol("BTCUSDT").Do(ctx(t)); len(all) != 0 {
		t.Fatalf("5xx created orders: %+v", all)
	}
	if err := place(); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
}

func TestFaultDropAfterAccept(t *testing.T) {
	ex := startExchange(t, testConfig())
	c, _, _ := newAccount(t, ex, map[string]string{"USDT": "100000"})
	if err := ex.InjectFault(Fault{Kind: FaultDrop, Route: "POST /api/v3/order"}); err != nil {
		t.Fatal(err)
	}
	place := func() error {
		_, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price("1000").NewClientOrderID("drop-1").Do(ctx(t))
		return err
	}
	err := place()
	if err == nil || apiCode(err) != 0 {
		t.Fatalf("want a transport error, got %v", err)
	}
	o, err := c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID("drop-1").Do(ctx(t))
	if err != nil || o.Status != binance.OrderStatusTypeNew {
		t.Fatalf("dropped order not created: %+v, %v", o, err)
	}
	wantCode(t, place(), -2010) // a blind resend is a duplicate while the first is open
}

func TestFaultForcedLimits(t *testing.T) {
	ex := startExchange(t, testConfig())
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantRetry  string
	}{
		{"429", Fault{Kind: FaultRateLimit, RetryAfter: 7 * time.Second}, 429, "7"},
		{"418", Fault{Kind: FaultBan, Route: "GET /api/v3/ping", RetryAfter: time.Minute}, 418, "60"},
		{"500", Fault{Kind: FaultError, Status: 500}, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ex.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			r := rawDo(t, ex, "GET", "/api/v3/ping", "", nil)
			if r.status != tt.wantStatus || r.header.Get("Retry-After") != tt.wantRetry || r.header.Get("X-MBX-USED-WEIGHT-1M") == "" {
				t.Fatalf("got %d %v %s", r.status, r.header, r.raw)
			}
			if r := rawDo(t, ex, "GET", "/api/v3/ping", "", nil); r.status != 200 {
				t.Fatalf("fault not used up: %d", r.status)
			}
		})
	}
	if err := ex.InjectFault(Fault{Kind: "bogus"}); err == nil {
		t.Fatal("bogus fault accepted")
	}
}

func adminDo(t *testing.T, ex *Exchange, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, ex.BaseURL()+path, strings.NewReader(body))
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminHTTP(t *testing.T) {
	ex := startExchange(t, testConfig())
	steps := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
	}{
		{"set price", "POST", "/admin/price", `{"symbol":"BTCUSDT","price":"50000"}`, 200, `"ok":true`},
		{"state", "GET", "/admin/state", "", 200, `"price":"50000.00000000"`},
		{"bad price", "POST", "/admin/price", `{"symbol":"BTCUSDT","price":"x"}`, 400, "bad price"},
		{"unknown field", "POST", "/admin/price", `{"sym":"BTCUSDT"}`, 400, "bad json"},
		{"step", "POST", "/admin/step", `{"n":3}`, 200, `"ok":true`},
		{"inject error", "POST", "/admin/faults", `{"kind":"error","route":"GET /api/v3/time","count":1,"status":502}`, 200, `"ok":true`},
		{"inject latency", "POST", "/admin/faults", `{"kind":"latency","route":"/api/v3/depth","latency":"10ms"}`, 200, `"ok":true`},
		{"bad latency", "POST", "/admin/faults", `{"kind":"latency","latency":"soon"}`, 400, "latency"},
		{"list faults", "GET", "/admin/faults", "", 200, `"latency":"10ms"`},
		{"faulted route", "GET", "/api/v3/time", "", 502, `"code":-1007`},
		{"clear faults", "DELETE", "/admin/faults", "", 200, `"ok":true`},
		{"empty faults", "GET", "/admin/faults", "", 200, `[]`},
		{"add account", "POST", "/admin/accounts", `{"api_key":"k2","secret_key":"s2","balances":{"USDT":"5"}}`, 200, `"ok":true`},
		{"duplicate account", "POST", "/admin/accounts", `{"api_key":"k2","secret_key":"s2"}`, 400, "duplicate"},
		{"close streams", "POST", "/admin/streams/close", `{"shutdown":true}`, 200, `"closed":0`},
		{"reset limits", "POST", "/admin/limits/reset", "", 200, `"ok":true`},
		{"unknown", "GET", "/admin/nope", "", 404, "unknown admin route"},
	}
	for _, st := range steps {
		status, body := adminDo(t, ex, st.method, st.path, st.body)
		if status != st.wantStatus || !strings.Contains(body, st.wantBody) {
			t.Fatalf("%s: %d %s; want %d %s", st.name, status, body, st.wantStatus, st.wantBody)
		}
	}
	if p := ex.Price("BTCUSDT"); p == "50000.00000000" {
		t.Fatal("step did not move the price")
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig()
	cfg.TickInterval = 5 * time.Millisecond
	cfg.Backfill = time.Second
	ex, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	// a raw stream, a slow request and a ticker are running when Close is called
	conn, _, err := websocketDial(ex.WSBaseURL() + "/ws/btcusdt@trade")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := ex.InjectFault(Fault{Kind: FaultLatency, Latency: time.Minute}); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	reqDone := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Post(ex.BaseURL()+"/api/v3/ping", "text/plain", bytes.NewReader(nil))
		if err == nil {
			resp.Body.Close()
		}
		reqDone <- err
	}()
	eventually(t, "trade event", func() bool {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := conn.ReadMessage()
		return err == nil
	})
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	<-reqDone
	for err == nil { // the stream ends with a close frame or an error
		_, _, err = conn.ReadMessage()
	}
}
