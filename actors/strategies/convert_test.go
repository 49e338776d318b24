package strategies

import (
	"regexp"
	"strings"
	"testing"
)

func TestClientOrderIDs(t *testing.T) {
	binance := regexp.MustCompile(`^[a-zA-Z0-9-_]{1,36}$`)
	long1, long2 := strings.Repeat("a", 31)+"1", strings.Repeat("a", 31)+"2"
	far := int64(101559956668415) // 36^9-1 ms: the last start time with 9 base-36 digits (year 5188)
	seen := map[string]string{}
	for _, prefix := range []string{"", "sb", "abcdefgh"} {
		for _, name := range []string{"btc", "btc_trend-x", long1, long2} {
			base := idBase(prefix, name, far)
			id := base + "_zzzzz" // the 36^5-th order of the life
			if !binance.MatchString(id) {
				t.Fatalf("prefix %q name %q: id %q is not a valid client order id", prefix, name, id)
			}
			if prefix != "" && !strings.HasPrefix(id, prefix+"-") {
				t.Fatalf("id %q does not start with %q", id, prefix)
			}
			if other, dup := seen[base]; dup {
				t.Fatalf("names %q and %q share the id base %q", other, name, base)
			}
			seen[base] = name
		}
	}
	if got := idBase("sb", "btc_trend", 1_700_000_000_000); got != "sb-btc_trend-loyw3v28" {
		t.Fatalf("short names are kept whole: %q", got)
	}
}

// The host's ids carry the order actor's prefix and never end with
// -DIGITS, the order actor's own form (which it refuses from callers).
func TestClientOrderIDsAreNotInTheOrderActorsOwnForm(t *testing.T) {
	own := regexp.MustCompile(`-[0-9]+$`)
	c := &child{epoch: idBase("sb", "btc_trend", 1_700_000_000_000)}
	for range 40 {
		id := c.newID()
		if own.MatchString(id) || !strings.HasPrefix(id, "sb-btc_trend-") {
			t.Fatalf("id %q", id)
		}
	}
}
