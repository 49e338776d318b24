package strategies

import (
	"regexp"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/orders/clientid"
)

// The host's ids carry the order actor's prefix and the term, never end
// with -DIGITS, the order actor's own form (which it refuses from
// callers), and read back with clientid.Parse.
func TestClientOrderIDsAreNotInTheOrderActorsOwnForm(t *testing.T) {
	own := regexp.MustCompile(`-[0-9]+$`)
	c := &child{epoch: clientid.Life("sb", "btc_trend", 7, 1_700_000_000_000)}
	for n := range uint64(40) {
		id := c.newID()
		if own.MatchString(id) || !strings.HasPrefix(id, "sb-btc_trend.7-") {
			t.Fatalf("id %q", id)
		}
		if got, ok := clientid.Parse("sb", id); !ok || got.Strategy != "btc_trend" || got.Term != 7 || got.Seq != n+1 || got.Life != 1_700_000_000_000 {
			t.Fatalf("Parse(%q) = %+v, %v", id, got, ok)
		}
	}
}
