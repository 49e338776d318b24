package edge

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// TestErrorsNameKnownValuesOnce: a list of known values reaches the client
// once, in the message or in data, never in both; internal errors show
// nothing of their text.
func TestErrorsNameKnownValuesOnce(t *testing.T) {
	listed := messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "unknown module %q (known: %s)", "x", "a, b")
	listed.Details = []string{"a", "b"}
	problems := messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "invalid order")
	problems.Details = []string{"price: must be > 0"}
	bare := messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "unknown job %q", "j")
	bare.Details = []string{"j1", "j2"}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"listed in the message", listed, `{"code":-32004,"message":"unknown module \"x\" (known: a, b)"}`},
		{"listed in data only", bare, `{"code":-32004,"message":"unknown job \"j\"","data":["j1","j2"]}`},
		{"invalid params: the message and details are the data", problems, `{"code":-32602,"message":"Invalid params","data":"invalid order: price: must be \u003e 0"}`},
		{"wrapped", fmt.Errorf("call: %w", listed), `{"code":-32004,"message":"unknown module \"x\" (known: a, b)"}`},
		{"internal", fmt.Errorf("open /secret: denied"), `{"code":-32603,"message":"Internal error"}`},
		{"unknown method", rpc.ErrUnknownMethod, `{"code":-32601,"message":"Method not found"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := toRPCError(tc.err)
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got  %s\nwant %s", b, tc.want)
			}
			if strings.Count(string(b), `"a"`)+strings.Count(string(b), " a,") > 1 {
				t.Fatalf("a known value named twice: %s", b)
			}
		})
	}
}
