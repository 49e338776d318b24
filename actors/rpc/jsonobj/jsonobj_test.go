package jsonobj

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

var seeds = []string{
	`{}`, ` {"a":1} `, `{"a":{"b":[1,2,{"c":null}]},"d":"x\"y\\u00e9\n"}`, `{"n":-0.5e+10,"t":true,"f":false}`,
	`{"a":01}`, `{"a":1,}`, `{"a" 1}`, `{"a":tru}`, `{"a":1}x`, `{"a":"\x"}`, `{"a":"\u12g4"}`, `{"a":-}`,
	`{"a":1.}`, `{"a":1e}`, `[1]`, `"s"`, "{\"a\":\"b\x01\"}", `{"a":[1,]}`, `{"a":[}`, `{"a":"\ud800"}`,
	"{\"a\":\"\xff\"}", `{"":0}`, `{"a":1,"a":2}`,
}

// FuzzMembers: Members accepts exactly the well-formed JSON objects, and
// hands over values that are themselves valid JSON.
func FuzzMembers(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
	})
}

func TestMembersAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		check(t, []byte(s))
	}
	var keys []string
	ok := Members([]byte(`{"x":1, "y" : {"z":2} ,"w":"v"}`), func(k, v []byte) bool {
		keys = append(keys, string(k)+"="+string(v))
		return true
	})
	if !ok || len(keys) != 3 || keys[0] != "x=1" || keys[1] != `y={"z":2}` || keys[2] != `w="v"` {
		t.Fatalf("members = %v %v", ok, keys)
	}
	if Members([]byte(`{"x":1,"y":2}`), func(k, _ []byte) bool { return string(k) != "y" }) {
		t.Fatal("a callback's false did not stop the walk")
	}
}

func check(t *testing.T, b []byte) {
	t.Helper()
	got := Members(b, func(_, v []byte) bool {
		if !json.Valid(v) {
			t.Fatalf("%q: value %q is not valid JSON", b, v)
		}
		return true
	})
	want := json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
	if got != want {
		t.Fatalf("%q: Members %v, encoding/json valid object %v", b, got, want)
	}
}

func TestUnquote(t *testing.T) {
	for raw, want := range map[string]string{`"abc"`: "abc", `""`: ""} {
		if s, ok := Unquote([]byte(raw)); !ok || s != want {
			t.Fatalf("Unquote(%s) = %q %v", raw, s, ok)
		}
	}
	for _, raw := range []string{`"a\"b"`, `abc`, `"`, "\"\xff\"", `1`} {
		if _, ok := Unquote([]byte(raw)); ok {
			t.Fatalf("Unquote(%s) took it", raw)
		}
	}
}

// BenchmarkMembers splits a daemon.status-sized answer (~1.7 KB, mostly
// strings), as the Go client does on every call.
func BenchmarkMembers(b *testing.B) {
	var child bytes.Buffer
	for i := range 12 {
		if i > 0 {
			child.WriteByte(',')
		}
		fmt := `{"name":"child-%02d","state":"running","restarts":0,"last_error":"","since":"2026-11-27T03:14:18.161Z","children":[]}`
		child.WriteString(strings.Replace(fmt, "%02d", strconv.Itoa(10+i), 1))
	}
	msg := []byte(`{"jsonrpc":"2.0","result":{"version":"9143245","pid":29801,"node":"vm","uptime_seconds":2.5,"config_source":"embedded defaults","started_at":"2026-11-27T03:14:18.168Z","state":"running","tree":[` + child.String() + `],"details":{}},"id":12345}`)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if !Members(msg, func(k, v []byte) bool { return true }) {
			b.Fatal("not an object")
		}
	}
}
