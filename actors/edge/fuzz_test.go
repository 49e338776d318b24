package edge

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// FuzzHandleLine feeds arbitrary lines to the JSON-RPC decoder and
// dispatcher. Whatever comes in, the answer is nothing (notifications only)
// or valid JSON-RPC 2.0: a response object or a non-empty array of them.
func FuzzHandleLine(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","method":"echo","params":[1,2],"id":1}`,
		`{"jsonrpc":"2.0","method":"echo","params":{"a":"b"},"id":"x"}`,
		`{"jsonrpc":"2.0","method":"status","params":{"bogus":1},"id":null}`,
		`[{"jsonrpc":"2.0","method":"echo","id":1},{"jsonrpc":"2.0","method":"echo"}]`,
		`[]`, `[1,2]`, `{"jsonrpc":"2.0","method":1}`, `{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]`,
		`{"jsonrpc":"2.0","method":"auth.login","params":["x"],"id":3}`,
		`{"jsonrpc":"2.0","method":"rpc.methods","id":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	status := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *messages.DaemonStatusRequest:
			ctx.Respond(&messages.DaemonStatusResponse{Version: "fuzz"})
		case *structpb.Value:
			ctx.Respond(msg)
		}
	}))
	router := rpc.NewRouter(time.Second)
	router.MustAdd(
		rpc.Route{Method: "echo", Target: status, New: func() proto.Message { return &structpb.Value{} }},
		rpc.Route{Method: "status", Target: status, New: func() proto.Message { return &messages.DaemonStatusRequest{} }},
	)
	cfg := DefaultConfig()
	cfg.LoginBackoff = time.Nanosecond // slowed logins would slow the fuzzer, not find more
	s := &server{cfg: cfg, deps: Deps{Router: router, Token: "t0k3n-for-fuzzing"}, log: slog.New(slog.DiscardHandler), sys: sys,
		logins: newLoginLimiter(cfg), refused: &refusedLog{log: slog.New(slog.DiscardHandler), interval: time.Second}}
	a, b := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	f.Cleanup(func() { _ = a.Close(); _ = b.Close(); sys.Root.Stop(status) })
	f.Fuzz(func(t *testing.T, line []byte) {
		membersAgree(t, line)
		c := newConn(s, a, true)
		defer c.closeInbox()
		out, ok := c.handleLine(nil, line)
		if !ok {
			if len(out) != 0 {
				t.Fatalf("nothing to send, yet %q", out)
			}
			return
		}
		var one map[string]json.RawMessage
		if json.Unmarshal(out, &one) == nil {
			checkResponse(t, one, out)
			return
		}
		var many []map[string]json.RawMessage
		if err := json.Unmarshal(out, &many); err != nil || len(many) == 0 {
			t.Fatalf("answer is neither a response nor a batch: %s", out)
		}
		for _, r := range many {
			checkResponse(t, r, out)
		}
	})
}

func checkResponse(t *testing.T, r map[string]json.RawMessage, out []byte) {
	t.Helper()
	if string(r["jsonrpc"]) != `"2.0"` {
		t.Fatalf("no jsonrpc 2.0 in %s", out)
	}
	_, hasResult := r["result"]
	_, hasError := r["error"]
	if hasResult == hasError {
		t.Fatalf("want exactly one of result and error: %s", out)
	}
	if _, ok := r["id"]; !ok {
		t.Fatalf("no id in %s", out)
	}
}

// membersAgree: the one-pass split of a request object gives what
// encoding/json's map gives, and refuses what encoding/json refuses.
func membersAgree(t *testing.T, line []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	wantOK := json.Unmarshal(line, &want) == nil && want != nil
	got, ok := splitRequest(line)
	if ok != wantOK {
		t.Fatalf("%q: split ok=%v, encoding/json ok=%v", line, ok, wantOK)
	}
	if !ok {
		return
	}
	other := false
	for k := range want {
		switch k {
		case "jsonrpc", "method", "params", "id":
		default:
			other = true
		}
	}
	_, hasParams := want["params"]
	_, hasID := want["id"]
	if got.other != other || got.hasParams != hasParams || got.hasID != hasID {
		t.Fatalf("%q: split %+v, encoding/json %v", line, got, want)
	}
	if dup := duplicateMembers(line); got.duplicate != dup {
		t.Fatalf("%q: split duplicate=%v, token scan %v", line, got.duplicate, dup)
	}
	for k, v := range map[string][]byte{"jsonrpc": got.jsonrpc, "method": got.method, "params": got.params, "id": got.id} {
		if !bytes.Equal(bytes.TrimSpace(v), bytes.TrimSpace(want[k])) {
			t.Fatalf("%q: member %q = %q, encoding/json %q", line, k, v, want[k])
		}
	}
}

// duplicateMembers reports, with encoding/json's tokenizer, whether one of
// a request's four members appears twice at the top level of the object.
func duplicateMembers(line []byte) bool {
	d := json.NewDecoder(bytes.NewReader(line))
	seen := map[string]bool{}
	depth, key := 0, true
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
				if depth > 1 {
					key = false
				}
				continue
			}
			depth--
			if depth == 1 {
				key = true
			}
			continue
		case string:
			if depth == 1 && key {
				switch v {
				case "jsonrpc", "method", "params", "id":
					if seen[v] {
						return true
					}
					seen[v] = true
				}
				key = false
				continue
			}
		}
		if depth == 1 {
			key = true
		}
	}
}
