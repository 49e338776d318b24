package client

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

var envelopeSeeds = []string{
	`{"jsonrpc":"2.0","result":{"version":"1","tree":[{"name":"bus","children":[]}],"details":{}},"id":1}`,
	`{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":["a","b"]},"id":"x"}`,
	`{"jsonrpc":"2.0","method":"events.event","params":{"subscription":"1","topic":"a.b"}}`,
	` { "id" : null , "result" : [1, -2.5e+10, true, false, null, "s\"\\\/\b\f\n\r\t\u00e9"] } `,
	`{"result":"ünïcødé","id":7,"extra":{"nested":[[[]]]}}`,
	`{}`, `{"id":1,"error":null}`, `{"id":01}`, `{"id":1,}`, `{"id":1 "x":2}`, `{"id":tru}`, `{"id":1}x`,
	`{"id":"\x"}`, `{"id":"\u12g4"}`, `{"result":-}`, `{"result":1.}`, `{"result":1e}`, `[{"id":1}]`,
	`{"method":5}`, `{"error":"text"}`, `{"i\u0064":1}`, `{"id":1,"id":2}`, "{\"id\":\"a\x01b\"}", `{"result":[1,]}`,
}

// FuzzParseMessage: whatever parseMessage accepts, encoding/json accepts
// too and reads the same way.
func FuzzParseMessage(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkEnvelope(t, line)
	})
}

func TestParseMessageAgreesWithEncodingJSON(t *testing.T) {
	accepted := 0
	for _, s := range envelopeSeeds {
		if checkEnvelope(t, []byte(s)) {
			accepted++
		}
	}
	if accepted < 7 {
		t.Fatalf("only %d of the valid seeds took the fast path", accepted)
	}
}

func checkEnvelope(t *testing.T, line []byte) bool {
	t.Helper()
	var fast message
	if !parseMessage(line, &fast) {
		return false
	}
	var slow message
	if err := json.Unmarshal(line, &slow); err != nil {
		t.Fatalf("parseMessage accepted %q, encoding/json: %v", line, err)
	}
	// Raw values are kept as they are in the line; encoding/json keeps them
	// the same way, so they compare equal after compaction.
	for _, pair := range [][2]json.RawMessage{{fast.ID, slow.ID}, {fast.Params, slow.Params}, {fast.Result, slow.Result}} {
		if !sameRaw(pair[0], pair[1]) {
			t.Fatalf("%q: raw %q vs %q", line, pair[0], pair[1])
		}
	}
	if fast.Method != slow.Method || !reflect.DeepEqual(fast.Error, slow.Error) {
		t.Fatalf("%q: method/error %q %v vs %q %v", line, fast.Method, fast.Error, slow.Method, slow.Error)
	}
	return true
}

func sameRaw(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(bytes.TrimSpace(a)) == len(bytes.TrimSpace(b)) || bytes.Equal(bytes.TrimSpace(a), []byte("null")) || bytes.Equal(bytes.TrimSpace(b), []byte("null"))
	}
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}

// appendRequest writes what json.Marshal of a request writes, and parseID
// reads every id json.Unmarshal reads.
func TestAppendRequestMatchesEncodingJSON(t *testing.T) {
	for _, method := range []string{"daemon.status", "", "a\"b", `back\slash`, "tab\there", "<html>&", "ünïcode", "\x7f", "\xff"} {
		for _, params := range []json.RawMessage{nil, json.RawMessage(`{"a":1}`), json.RawMessage(`[1,"x"]`), json.RawMessage("[ 1,\n\t\"x y\" ]")} {
			for _, id := range []uint64{0, 7, 1<<64 - 1} {
				want, err := json.Marshal(request{JSONRPC: "2.0", Method: method, Params: params, ID: &id})
				if err != nil {
					t.Fatal(err)
				}
				if got := appendRequest(nil, method, params, id); string(got) != string(want) {
					t.Fatalf("method %q params %s id %d:\n got %s\nwant %s", method, params, id, got, want)
				}
				if got, ok := parseID(json.RawMessage(strconv.FormatUint(id, 10))); !ok || got != id {
					t.Fatalf("parseID(%d) = %d %v", id, got, ok)
				}
			}
		}
	}
	for raw, want := range map[string]bool{"12": true, "1e2": false, "-1": false, `"7"`: false, "": false, "1.5": false} {
		if _, ok := parseID(json.RawMessage(raw)); ok != want {
			t.Fatalf("parseID(%q) ok = %v, want %v", raw, ok, want)
		}
	}
}
