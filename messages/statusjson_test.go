package messages

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// edgeOpts are protojson's options closest to AppendJSON (which differs in
// 64-bit integers and Any's @type).
var edgeOpts = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}

// reflected renders m with the reflective encoder, bypassing JSONAppender.
func reflected(m proto.Message) ([]byte, error) { return appendMessage(nil, m.ProtoReflect()) }

var oddStrings = []string{
	"", "running", `quote " and \ backslash`, "tab\tnew\nline\r\b\f", "\x00\x01\x1f\x7f",
	"ünïcødé ✓ 日本", "emoji 🚀", "<html> & 'x'", "\u2028\u2029", strings.Repeat("long ", 50),
}

var oddFloats = []float64{0, 1, -1, 0.5, 1.46722375, 12345678.9, 1e-7, 1.5e-6, 1e20, 1e21, 3e300, -2e-300,
	math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1)}

func randString(r *rand.Rand) string { return oddStrings[r.IntN(len(oddStrings))] }

func randTimestamp(r *rand.Rand) *timestamppb.Timestamp {
	if r.IntN(5) == 0 {
		return nil
	}
	nanos := []int32{0, 5e8, 123e6, 123456e3, 123456789, 1, 999999999}[r.IntN(7)]
	secs := []int64{0, 1, 1798329600, -1, minTimestampSeconds, maxTimestampSeconds, 951782400}[r.IntN(7)]
	return &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}
}

func randChildren(r *rand.Rand, depth int) []*ChildStatus {
	if depth > 2 {
		return nil
	}
	n := r.IntN(4)
	var out []*ChildStatus
	for range n {
		out = append(out, &ChildStatus{
			Name: randString(r), State: randString(r), Restarts: []uint32{0, 1, math.MaxUint32}[r.IntN(3)],
			LastError: randString(r), Since: randTimestamp(r), Children: randChildren(r, depth+1),
		})
	}
	return out
}

func randStatus(t *testing.T, r *rand.Rand) *DaemonStatusResponse {
	st := &DaemonStatusResponse{
		Version: randString(r), Pid: []int32{0, 1, math.MaxInt32, -5}[r.IntN(4)], Node: randString(r),
		UptimeSeconds: oddFloats[r.IntN(len(oddFloats))], ConfigSource: randString(r), StartedAt: randTimestamp(r),
		State: randString(r), Tree: randChildren(r, 0),
	}
	if r.IntN(3) > 0 {
		st.Details = map[string]*anypb.Any{}
		for range r.IntN(4) {
			w, err := anypb.New(&WindowStatusResponse{Enabled: r.IntN(2) == 0, State: randString(r), Days: []int32{1, 5},
				NextOpen: randTimestamp(r), LastActionError: randString(r)})
			if err != nil {
				t.Fatal(err)
			}
			st.Details[randString(r)] = w
		}
	}
	if r.IntN(4) == 0 {
		st.Error = Errorf(ErrorCode_ERROR_CODE_TIMEOUT, "%s", randString(r))
	}
	return st
}

// sameJSON compares two renderings as JSON values.
func sameJSON(t *testing.T, fast, slow []byte) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatalf("AppendJSON wrote invalid JSON: %v\n%s", err, fast)
	}
	if err := json.Unmarshal(slow, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("renderings differ\nAppendJSON: %s\nreflection: %s", fast, slow)
	}
}

func TestStatusAppendJSONMatchesReflection(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		st := randStatus(t, r)
		slow, slowErr := reflected(st)
		fast, fastErr := st.AppendJSON(nil)
		if (slowErr != nil) != (fastErr != nil) {
			t.Fatalf("case %d: reflection error %v, AppendJSON error %v", i, slowErr, fastErr)
		}
		if slowErr == nil && string(fast) != string(slow) {
			t.Fatalf("case %d: not byte for byte\nAppendJSON: %s\nreflection: %s", i, fast, slow)
		}
		if slowErr == nil {
			sameJSON(t, fast, slow)
			// The second rendering takes the tree from the cache.
			if again, err := st.AppendJSON(nil); err != nil || string(again) != string(fast) {
				t.Fatalf("case %d: a second rendering differs (tree cache)\n%s\n%s %v", i, fast, again, err)
			}
		}
	}
}

func TestStatusAppendJSONEdgeCases(t *testing.T) {
	// Timestamps outside the JSON mapping's range are errors in both.
	for _, ts := range []*timestamppb.Timestamp{{Seconds: maxTimestampSeconds + 1}, {Seconds: minTimestampSeconds - 1}, {Nanos: -1}, {Nanos: 1e9}} {
		st := &DaemonStatusResponse{StartedAt: ts}
		if _, err := st.AppendJSON(nil); err == nil {
			t.Fatalf("timestamp %v: no error", ts)
		}
		if _, err := edgeOpts.Marshal(st); err == nil {
			t.Fatalf("protojson took timestamp %v", ts)
		}
	}
	// Invalid UTF-8: protojson refuses the message, AppendJSON shows U+FFFD.
	st := &DaemonStatusResponse{Node: "bad \xff byte"}
	b, err := st.AppendJSON(nil)
	if err != nil || !strings.Contains(string(b), `"node":"bad `+"\ufffd"+` byte"`) {
		t.Fatalf("invalid UTF-8: %s %v", b, err)
	}
	// An empty message renders every scalar and list, and no unset message.
	b, err = (&DaemonStatusResponse{}).AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"","pid":0,"node":"","uptime_seconds":0,"config_source":"","state":"","tree":[],"details":{}}`
	if string(b) != want {
		t.Fatalf("empty status\n got %s\nwant %s", b, want)
	}
	// The Any cache follows the pointer: a new detail renders anew.
	for _, state := range []string{"open", "closed"} {
		w, err := anypb.New(&WindowStatusResponse{State: state})
		if err != nil {
			t.Fatal(err)
		}
		b, err := (&DaemonStatusResponse{Details: map[string]*anypb.Any{"scheduler": w}}).AppendJSON(nil)
		if err != nil || !strings.Contains(string(b), `"state":"`+state+`"`) {
			t.Fatalf("detail %s: %s %v", state, b, err)
		}
	}
}

func BenchmarkStatusJSON(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var st *DaemonStatusResponse
	for st == nil || len(st.Tree) < 3 || st.StartedAt == nil || st.Error != nil || math.IsNaN(st.UptimeSeconds) {
		st = randStatus(&testing.T{}, r)
	}
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := edgeOpts.Marshal(st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			if _, err := appendMessage(buf[:0], st.ProtoReflect()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			if _, err := st.AppendJSON(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
