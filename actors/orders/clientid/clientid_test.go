package clientid

import (
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// binanceRE is the exchange's pattern for newClientOrderId.
var binanceRE = regexp.MustCompile(`^[\.A-Z\:/a-z0-9_-]{1,36}$`)

// callerRE is what the order actor accepts as a caller's own client id.
var callerRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,36}$`)

// oldClientID is the id form before terms, kept here as the reference that
// term 0 must still produce.
func oldClientID(prefix, strategy string, seq uint64) string {
	if len(strategy) > 16 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(strategy))
		strategy = fmt.Sprintf("%s_%06x", strategy[:9], h.Sum32()&0xffffff)
	}
	return prefix + "-" + strategy + "-" + strconv.FormatUint(seq, 10)
}

func TestTermZeroKeepsTodaysIDs(t *testing.T) {
	for _, c := range []struct {
		prefix, strategy string
		seq              uint64
	}{{"sb", "grid", 1}, {"sb", "btc_trend", 42}, {"abcdefgh", "a-very-long-strategy-name-indeed", 9999999999}, {"x", "manual", 7}} {
		if got, want := Make(c.prefix, c.strategy, 0, c.seq), oldClientID(c.prefix, c.strategy, c.seq); got != want {
			t.Errorf("Make(%q, %q, 0, %d) = %q, want %q", c.prefix, c.strategy, c.seq, got, want)
		}
	}
}

func TestTermIDs(t *testing.T) {
	if got := Make("sb", "grid", 123456, 17); got != "sb-grid.2n9c-17" {
		t.Fatalf("Make = %q", got)
	}
	prefixes := []string{"sb", "abcdefgh"}
	strategies := []string{"grid", "manual", "external", "btc_trend-2", "exactly16chars__", strings.Repeat("z", 64), "a-b_c-d"}
	terms := []int64{0, 1, 35, 36, 123456, 1 << 31, math.MaxInt64}
	seqs := []uint64{1, 2, 99, 9999999999}
	seen := map[string]string{}
	for _, p := range prefixes {
		for _, s := range strategies {
			for _, term := range terms {
				for _, seq := range seqs {
					id := Make(p, s, term, seq)
					what := fmt.Sprintf("Make(%q, %q, %d, %d) = %q", p, s, term, seq, id)
					if !binanceRE.MatchString(id) {
						t.Fatalf("%s: not a Binance client id", what)
					}
					if term > 0 && callerRE.MatchString(id) {
						t.Fatalf("%s: a caller could send this id", what)
					}
					if prev, dup := seen[id]; dup {
						t.Fatalf("%s: collides with %s", what, prev)
					}
					seen[id] = what
					got, ok := Parse(p, id)
					if !ok || got.Term != term || got.Seq != seq {
						t.Fatalf("%s: Parse = %+v, %v", what, got, ok)
					}
					if owner := Owner(p, got, strategies); owner != s {
						t.Fatalf("%s: Owner = %q", what, owner)
					}
					if !strings.HasPrefix(id, p+"-") || !regexp.MustCompile(`-[0-9]+$`).MatchString(id) {
						t.Fatalf("%s: not PREFIX-...-DIGITS", what)
					}
				}
			}
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, id := range []string{"", "sb", "sb-", "sb-grid", "sb-grid-", "sb-grid-x1", "xx-grid-1", "sb-.2n9c-1",
		"sb-grid.0-1", "sb-grid.02n9c-1", "sb-grid.2N9C-1", "sb-grid.-1", "sb-a.b.1-1", "sb-grid.zzzzzzzzzzzzzz-1", "sb--1"} {
		if got, ok := Parse("sb", id); ok {
			t.Errorf("Parse(%q) = %+v, want refused", id, got)
		}
	}
	if got, ok := Parse("sb", "sb-my-strat-12"); !ok || got.Strategy != "my-strat" || got.Term != 0 || got.Seq != 12 {
		t.Errorf("Parse of a term-0 id: %+v %v", got, ok)
	}
}

// FuzzParse: whatever Parse accepts names no dot in its strategy, and is
// exactly Make's id of what it read (unless the id has a sequence with
// leading zeros or a strategy part Make would have shortened).
func FuzzParse(f *testing.F) {
	f.Add("sb", "sb-grid.2n9c-17")
	f.Add("sb", "sb-grid-1")
	f.Add("sb", "sb-a-b.1-007")
	f.Fuzz(func(t *testing.T, prefix, id string) {
		got, ok := Parse(prefix, id)
		if !ok {
			return
		}
		if strings.Contains(got.Strategy, ".") || got.Strategy == "" || got.Term < 0 {
			t.Fatalf("Parse(%q, %q) = %+v", prefix, id, got)
		}
		n := maxStrategy
		if got.Term > 0 {
			n = room(prefix, strconv.FormatInt(got.Term, termBase))
		}
		if id[strings.LastIndexByte(id, '-')+1:] != strconv.FormatUint(got.Seq, 10) || len(got.Strategy) > n {
			return
		}
		if again := Make(prefix, got.Strategy, got.Term, got.Seq); again != id {
			t.Fatalf("Parse(%q, %q) = %+v, but Make gives %q", prefix, id, got, again)
		}
	})
}
