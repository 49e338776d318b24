package connector

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetryAfter: any header value gives a duration, never a panic;
// a number of seconds gives exactly that.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "7", "0", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "1e9", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v)
		if v == "7" && d != 7*time.Second {
			t.Fatalf("7 -> %s", d)
		}
	})
}

// FuzzClientOrderID: the accepted IDs are exactly [.A-Za-z0-9_-]{1,36}
// (within Binance's [.A-Z:/a-z0-9_-]{1,36}; the dot is in the order
// actor's ids of a cluster term).
func FuzzClientOrderID(f *testing.F) {
	for _, s := range []string{"a", "oid-1", "x_y", "a@b", "", "0123456789012345678901234567890123456", "sb-grid.2n9c-17"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ok := len(id) >= 1 && len(id) <= 36
		for _, c := range []byte(id) {
			alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
			if !alnum && c != '_' && c != '-' && c != '.' {
				ok = false
			}
		}
		if got := clientOrderIDRE.MatchString(id); got != ok {
			t.Fatalf("%q: match %v, want %v", id, got, ok)
		}
	})
}

// FuzzUserDataFrame: any frame from the WebSocket API decodes or is
// skipped, never a panic; an executionReport keeps its client order ID.
func FuzzUserDataFrame(f *testing.F) {
	for _, s := range []string{
		`{"subscriptionId":0,"event":{"e":"executionReport","E":1,"s":"BTCUSDT","c":"id-1","C":"","x":"NEW","X":"NEW","i":7,"N":null,"t":-1}}`,
		`{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1}}`,
		`{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1,"B":[]}}`,
		`{"id":"x","status":400,"error":{"code":-1022,"msg":"bad"}}`,
		`{"event":"x"}`, `{"event":[1,2]}`, `null`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fr wsAPIFrame
		if json.Unmarshal([]byte(s), &fr) != nil {
			return
		}
		_ = fr.isAnswerTo("x")
		_ = fr.errorText()
		r, end := userDataEvent(fr.Event)
		if r != nil && end {
			t.Fatal("a report and the end at once")
		}
		// (A second "c" key would win: JSON's last duplicate key does.)
		if strings.Contains(s, `"c":"id-1","C":""`) && strings.Count(s, `"c":`) == 1 && strings.Contains(s, `"e":"executionReport"`) && r != nil && r.GetClientOrderId() != "id-1" {
			t.Fatalf("client order id = %q", r.GetClientOrderId())
		}
	})
}
