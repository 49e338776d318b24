package busredis

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/messages"
)

// TestExportJSON: what the bridge exports is valid JSON for any source
// and node, and reads back as the event (an imported copy of another
// bridge's export).
func TestExportJSON(t *testing.T) {
	payload, _ := structpb.NewValue(map[string]any{"price": 97000.5, "note": "a \"quoted\"\n line"})
	for _, tc := range []struct {
		name, source, wantSource string
		importable               bool // the importer refuses control characters in a source
	}{
		{"plain", "connector", "connector", true},
		{"escapes", "a\"b\\c\x01\td", "a\"b\\c\x01\td", false},
		{"unicode", "stratégie-€", "stratégie-€", true},
		{"invalid utf-8", "bad\xffbyte", "bad\ufffdbyte", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := messages.NewEvent("price.BTCUSDT.update", tc.source, payload)
			ev.Time = timestamppb.New(time.Unix(1733366400, 250_000_000))
			ev.Node, ev.Sequence = "node\"1", 42
			b, err := appendExport(nil, ev, "origin-1")
			if err != nil || !json.Valid(b) {
				t.Fatalf("appendExport = %s, %v", b, err)
			}
			var got map[string]any
			_ = json.Unmarshal(b, &got)
			if got["source"] != tc.wantSource || got["node"] != "node\"1" || got["timestamp"] != 1733366400.25 ||
				got["sequence"] != float64(42) || got["origin"] != "origin-1" {
				t.Fatalf("exported %s", b)
			}
			im := importer{prefix: "sb.", patterns: []string{"price.>"}, maxBytes: 1 << 16, origin: "other"}
			back, reason, err := im.decode("sb.price.BTCUSDT.update", string(b))
			if !tc.importable {
				if reason != dropBadJSON {
					t.Fatalf("decode: %v %v, want a bad source", reason, err)
				}
				return
			}
			if reason != imported || err != nil {
				t.Fatalf("decode: %v %v", reason, err)
			}
			var v structpb.Value
			if err := back.GetPayload().UnmarshalTo(&v); err != nil || !proto.Equal(&v, payload) {
				t.Fatalf("payload back = %v (%v)", &v, err)
			}
			if back.GetTime().AsTime().UnixMilli() != 1733366400250 {
				t.Fatalf("time back = %v", back.GetTime().AsTime())
			}
			if back.GetSource() != "redis:"+tc.wantSource {
				t.Fatalf("source back = %q", back.GetSource())
			}
			if _, reason, _ := (&importer{prefix: "sb.", patterns: []string{"price.>"}, maxBytes: 1 << 16, origin: "origin-1"}).
				decode("sb.price.BTCUSDT.update", string(b)); reason != dropEcho {
				t.Fatalf("own export decoded as %v, want echo", reason)
			}
		})
	}
}

// TestExportNilPayload: an event without payload has "data":null.
func TestExportNilPayload(t *testing.T) {
	b, err := appendExport(nil, messages.NewEvent("system.ready", "daemon", nil), "o")
	if err != nil || !strings.Contains(string(b), `"data":null}`) {
		t.Fatalf("%s %v", b, err)
	}
}

func TestGlobs(t *testing.T) {
	got := globs("sb.", []string{"signals.>", "price.*.update", "price.*.update", "a.b"})
	if want := []string{"sb.signals.*", "sb.price.*.update", "sb.a.b"}; !slices.Equal(got, want) {
		t.Fatalf("globs = %v, want %v", got, want)
	}
}

// FuzzDecode: no message from Redis panics the importer, and what it
// accepts is an importable topic with a marked source.
func FuzzDecode(f *testing.F) {
	f.Add("sb.signals.a", `{"data":{"x":1},"source":"s","timestamp":1.5}`)
	f.Add("sb.signals.a", `{"topic":"signals.a","data":[1,"2",null,true]}`)
	f.Add("sb.system.ready", `{}`)
	f.Add("sb.signals.a b", `{"data":1e400}`)
	f.Add("sb.signals.a", `{"data":1} x`)
	im := importer{prefix: "sb.", patterns: []string{"signals.>", "*.ready"}, maxBytes: 4096, origin: "me"}
	f.Fuzz(func(t *testing.T, channel, payload string) {
		ev, reason, err := im.decode(channel, payload)
		if reason != imported {
			if ev != nil || (reason != dropEcho && err == nil) {
				t.Fatalf("dropped (%v) with event %v, error %v", reason, ev, err)
			}
			return
		}
		first, _, _ := strings.Cut(ev.GetTopic(), ".")
		if !slices.ContainsFunc(im.patterns, func(p string) bool { return bus.Match(p, ev.GetTopic()) }) ||
			bus.ValidateTopic(ev.GetTopic()) != nil || slices.Contains(bus.Reserved, first) || !isImported(ev) || len(payload) > 4096 {
			t.Fatalf("accepted %q from %q: %v", payload, channel, ev)
		}
	})
}
