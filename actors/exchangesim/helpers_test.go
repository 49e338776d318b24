package exchangesim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/shopspring/decimal"
)

// apiCode returns the Binance error code of err (0 when err is not an APIError).
func apiCode(err error) int64 {
	var ae *common.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

func wantCode(t testing.TB, err error, code int64) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("err = %v (code %d), want code %d", err, got, code)
	}
}

func d(s string) decimal.Decimal {
	v, err := decimal.NewFromString(s)
	if err != nil {
		panic(err)
	}
	return v
}

// rawResp is a raw HTTP answer.
type rawResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// rawSigned sends a hand-built signed request: query gets timestamp and signature
// appended, the signature covering rawQuery+body.
func rawSigned(t testing.TB, ex *Exchange, method, path, query, body, key, secret string) rawResp {
	t.Helper()
	if query != "" {
		query += "&"
	}
	query += "timestamp=" + strconv.FormatInt(ex.nowMs(), 10)
	query += "&signature=" + hmacHex(secret, query+body)
	return rawDo(t, ex, method, path+"?"+query, body, map[string]string{"X-MBX-APIKEY": key})
}

func rawDo(t testing.TB, ex *Exchange, method, pathQuery, body string, hdr map[string]string) rawResp {
	t.Helper()
	req, err := http.NewRequest(method, ex.BaseURL()+pathQuery, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := rawResp{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.body)
	return r
}

// balances returns free and locked per asset.
func balances(t testing.TB, c *binance.Client) map[string][2]decimal.Decimal {
	t.Helper()
	a, err := c.NewGetAccountService().Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]decimal.Decimal{}
	for _, b := range a.Balances {
		out[b.Asset] = [2]decimal.Decimal{d(b.Free), d(b.Locked)}
	}
	return out
}
