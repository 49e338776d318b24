package messages_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/superbot/superbot/messages"
)

var protojsonOpts = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %v: %s", err, b)
	}
	return v
}

// sameButNumbers: ours equals protojson's rendering, except that where
// protojson wrote a 64-bit integer as a string ours has the number.
func sameButNumbers(ours, theirs any) bool {
	switch o := ours.(type) {
	case json.Number:
		if s, ok := theirs.(string); ok {
			return !strings.ContainsAny(o.String(), ".eE") && o.String() == s
		}
		n, ok := theirs.(json.Number)
		return ok && n == o
	case map[string]any:
		m, ok := theirs.(map[string]any)
		if !ok || len(m) != len(o) {
			return false
		}
		for k, v := range o {
			if w, ok := m[k]; !ok || !sameButNumbers(v, w) {
				return false
			}
		}
		return true
	case []any:
		l, ok := theirs.([]any)
		if !ok || len(l) != len(o) {
			return false
		}
		for i := range o {
			if !sameButNumbers(o[i], l[i]) {
				return false
			}
		}
		return true
	}
	return ours == theirs
}

// TestAppendJSONEveryMessage renders every superbot.v1 message, every field
// populated, and checks it against protojson: the same JSON but 64-bit
// integers as numbers, which protojson reads back to the same message.
func TestAppendJSONEveryMessage(t *testing.T) {
	n := 0
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		desc := mt.Descriptor()
		if desc.ParentFile().Package() != "superbot.v1" {
			return true
		}
		n++
		msg := mt.New()
		populate(msg, 0)
		fixTimes(msg)
		t.Run(string(desc.Name()), func(t *testing.T) {
			ours, err := messages.AppendJSON(nil, msg.Interface())
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := protojsonOpts.Marshal(msg.Interface())
			if err != nil {
				t.Fatal(err)
			}
			if !sameButNumbers(decodeNumbers(t, ours), decodeNumbers(t, theirs)) {
				t.Fatalf("renderings differ\n ours: %s\n protojson: %s", ours, theirs)
			}
			back := mt.New().Interface()
			if err := protojson.Unmarshal(ours, back); err != nil {
				t.Fatalf("protojson cannot read %s: %v", ours, err)
			}
			if diff := cmp.Diff(msg.Interface(), back, protocmp.Transform()); diff != "" {
				t.Fatalf("read back differs (-want +got):\n%s", diff)
			}
		})
		return true
	})
	if n < 30 {
		t.Fatalf("only %d superbot.v1 messages registered", n)
	}
}

// fixTimes puts populate's timestamps and durations in their JSON range.
func fixTimes(m protoreflect.Message) {
	switch m.Descriptor().FullName() {
	case "google.protobuf.Timestamp", "google.protobuf.Duration":
		fields := m.Descriptor().Fields()
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(1798329600))
		m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(5e8))
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := range v.List().Len() {
				fixTimes(v.List().Get(i).Message())
			}
		case !fd.IsList() && !fd.IsMap() && fd.Kind() == protoreflect.MessageKind:
			fixTimes(v.Message())
		}
		return true
	})
}

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAppendJSONNumbersAndAny: the two ways answers differ from protojson,
// and the well-known types.
func TestAppendJSONNumbersAndAny(t *testing.T) {
	payload, _ := structpb.NewValue(map[string]any{"b": []any{1.5, "x", nil}, "a": true})
	cases := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"uint64 is a number", &messages.PublishResponse{Sequence: 56}, `{"sequence":56}`},
		{"int64 is a number", &messages.KlinesRequest{StartTimeMs: -1 << 60}, `{"symbol":"","interval":"","limit":0,"start_time_ms":-1152921504606846976,"end_time_ms":0}`},
		{"any without @type", &messages.Event{Topic: "logs.m", Sequence: 7, Payload: mustAny(t, &messages.LogLine{Module: "m", Line: "hi"})},
			`{"topic":"logs.m","source":"","node":"","sequence":7,"payload":{"module":"m","stream":"","line":"hi"}}`},
		{"any holding a Value", &messages.Event{Topic: "x", Payload: mustAny(t, payload)},
			`{"topic":"x","source":"","node":"","sequence":0,"payload":{"a":true,"b":[1.5,"x",null]}}`},
		{"empty any", &messages.Event{Topic: "x", Payload: &anypb.Any{}}, `{"topic":"x","source":"","node":"","sequence":0,"payload":{}}`},
		{"timestamp", timestamppb.New(timestamppb.Now().AsTime().Truncate(24*3600e9).UTC().AddDate(0, 0, 0)), ""},
		{"duration", durationpb.New(-1500e6), `"-1.500s"`},
		{"wrapper int64", wrapperspb.Int64(1 << 40), `1099511627776`},
		{"wrapper bytes", wrapperspb.Bytes([]byte{1, 2, 3}), `"AQID"`},
		{"error enum by name", &messages.Error{Code: messages.ErrorCode_ERROR_CODE_NOT_FOUND, Message: "m"}, `{"code":"ERROR_CODE_NOT_FOUND","message":"m","details":[]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := messages.AppendJSON([]byte("prefix:"), tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			got = bytes.TrimPrefix(got, []byte("prefix:"))
			if bytes.Contains(got, []byte("@type")) {
				t.Fatalf("@type shown: %s", got)
			}
			want := tc.want
			if want == "" { // same as protojson where protojson has no strings for numbers
				b, _ := protojsonOpts.Marshal(tc.msg)
				want = string(b)
			}
			if !sameButNumbers(decodeNumbers(t, got), decodeNumbers(t, []byte(want))) || (tc.want != "" && string(got) != tc.want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
	// An Any whose type is not registered is an error, and b comes back as it was.
	b, err := messages.AppendJSON([]byte("x"), &messages.Event{Payload: &anypb.Any{TypeUrl: "type.googleapis.com/no.Such"}})
	if err == nil || string(b) != "x" {
		t.Fatalf("unknown Any: %q %v", b, err)
	}
}

func TestTradeOrderStatusFinal(t *testing.T) {
	final := map[messages.TradeOrderStatus]bool{messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED: true, messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED: true,
		messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED: true, messages.TradeOrderStatus_TRADE_ORDER_STATUS_EXPIRED: true, messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT: true}
	for v := range messages.TradeOrderStatus_name {
		if s := messages.TradeOrderStatus(v); s.Final() != final[s] {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
}
