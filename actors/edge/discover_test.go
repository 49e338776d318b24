package edge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/edge"
)

type openrpcDoc struct {
	OpenRPC string `json:"openrpc"`
	Info    struct {
		Title, Version string
	} `json:"info"`
	Methods []struct {
		Name   string `json:"name"`
		Params []struct {
			Name   string         `json:"name"`
			Schema map[string]any `json:"schema"`
		} `json:"params"`
		Result struct {
			Schema map[string]any `json:"schema"`
		} `json:"result"`
		Errors []map[string]string `json:"errors"`
	} `json:"methods"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
		Errors  map[string]struct {
			Code int `json:"code"`
		} `json:"errors"`
	} `json:"components"`
}

// TestDiscoverIsOpenRPC: rpc.discover lists every method rpc.methods
// names, with its params' names and JSON types, its result and its errors,
// in an OpenRPC 1.2 document whose references all resolve.
func TestDiscoverIsOpenRPC(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	c := dial(t, "unix", f.socket)
	var methods struct {
		Result struct{ Methods []string } `json:"result"`
	}
	if err := json.Unmarshal([]byte(c.call(`{"jsonrpc":"2.0","method":"rpc.methods","id":1}`)), &methods); err != nil || len(methods.Result.Methods) < 10 {
		t.Fatalf("rpc.methods: %v %v", methods, err)
	}
	raw := c.call(`{"jsonrpc":"2.0","method":"rpc.discover","id":2}`)
	var res struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil || !json.Valid(res.Result) {
		t.Fatalf("rpc.discover: %v %.300s", err, raw)
	}
	var doc openrpcDoc
	if err := json.Unmarshal(res.Result, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenRPC, "1.2.") || doc.Info.Title == "" || doc.Info.Version == "" {
		t.Fatalf("openrpc %q, info %+v", doc.OpenRPC, doc.Info)
	}
	byName := map[string]int{}
	for i, m := range doc.Methods {
		byName[m.Name] = i
		if len(m.Errors) == 0 {
			t.Errorf("%s lists no errors", m.Name)
		}
	}
	for _, name := range methods.Result.Methods {
		if _, ok := byName[name]; !ok {
			t.Errorf("rpc.discover lacks %s", name)
		}
	}
	if len(doc.Methods) != len(methods.Result.Methods) {
		t.Errorf("%d methods documented, rpc.methods names %d", len(doc.Methods), len(methods.Result.Methods))
	}
	paramTypes := func(method string) string {
		m := doc.Methods[byName[method]]
		var out []string
		for _, p := range m.Params {
			out = append(out, p.Name+":"+typeOf(p.Schema))
		}
		return strings.Join(out, ",")
	}
	for method, want := range map[string]string{
		"events.subscribe":   "pattern:string,queue_size:integer",
		"events.unsubscribe": "subscription:integer",
		"auth.login":         "token:string",
		"logs.stream":        "module:string,lines:integer",
		"logs.tail":          "module:string,lines:integer",
		"bus.stats":          "",
		"rpc.discover":       "",
	} {
		if got := paramTypes(method); got != want {
			t.Errorf("%s params = %q, want %q", method, got, want)
		}
	}
	// A result: bus.stats answers BusStatsResponse, whose error field is
	// the JSON-RPC error, not part of the result.
	ref, _ := doc.Methods[byName["bus.stats"]].Result.Schema["$ref"].(string)
	stats := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	props, _ := stats["properties"].(map[string]any)
	if props["published"] == nil || typeOf(props["published"].(map[string]any)) != "integer" || props["error"] != nil {
		t.Errorf("bus.stats result %s: %v", ref, stats)
	}
	// Every reference resolves.
	for _, m := range doc.Methods {
		for _, e := range m.Errors {
			if _, ok := doc.Components.Errors[strings.TrimPrefix(e["$ref"], "#/components/errors/")]; !ok {
				t.Errorf("%s: error %v does not resolve", m.Name, e)
			}
		}
	}
	for _, r := range refs(res.Result) {
		if _, ok := doc.Components.Schemas[strings.TrimPrefix(r, "#/components/schemas/")]; !ok && strings.HasPrefix(r, "#/components/schemas/") {
			t.Errorf("schema %s does not resolve", r)
		}
	}
	if strings.Contains(string(res.Result), "@type") {
		t.Error("@type in the document")
	}
}

// typeOf is a schema's JSON type; for a reference, "object".
func typeOf(s map[string]any) string {
	if _, ok := s["$ref"]; ok {
		return "object"
	}
	t, _ := s["type"].(string)
	return t
}

// refs lists every "$ref" value in a JSON document.
func refs(doc []byte) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "$ref" {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	_ = json.Unmarshal(doc, &v)
	walk(v)
	return out
}
