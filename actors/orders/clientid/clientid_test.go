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

// TestLifeIDs: the strategy host's ids are valid Binance ids within 36
// characters, never a caller's or the order actor's form once they carry a
// term, unique per (strategy, term, life, sequence), and read back by
// Parse and Owner.
func TestLifeIDs(t *testing.T) {
	if got := Life("sb", "btc_trend", 0, 1_700_000_000_000); got != "sb-btc_trend-loyw3v28" {
		t.Fatalf("term 0 keeps the ids of before: %q", got)
	}
	if got := Life("sb", "grid", 123456, 1_700_000_000_000); got != "sb-grid.2n9c-loyw3v28" {
		t.Fatalf("Life = %q", got)
	}
	far := int64(101559956668415) // 36^9-1 ms: the last start with 9 base-36 digits (year 5188)
	strategies := []string{"grid", "btc_trend-2", "exactly16chars__", strings.Repeat("a", 31) + "1", strings.Repeat("a", 31) + "2"}
	seen := map[string]string{}
	for _, p := range []string{"", "sb", "abcdefgh"} {
		for _, s := range strategies {
			for _, term := range []int64{0, 1, 123456, 2821109907455} { // the last: 36^8-1
				for _, start := range []int64{1_700_000_000_000, far} {
					id := Life(p, s, term, start) + "_zzzzz" // the 36^5-th order of the life
					what := fmt.Sprintf("Life(%q, %q, %d, %d) = %q", p, s, term, start, id)
					if !binanceRE.MatchString(id) || len(id) > MaxLen || regexp.MustCompile(`-[0-9]+$`).MatchString(id) {
						t.Fatalf("%s: not a Binance client id of the host's form", what)
					}
					if term > 0 && callerRE.MatchString(id) {
						t.Fatalf("%s: a caller could send this id", what)
					}
					if prev, dup := seen[id]; dup {
						t.Fatalf("%s: collides with %s", what, prev)
					}
					seen[id] = what
					if p == "" {
						continue
					}
					got, ok := Parse(p, id)
					if !ok || got.Term != term || got.Life != start || got.Seq != 36*36*36*36*36-1 {
						t.Fatalf("%s: Parse = %+v, %v", what, got, ok)
					}
					if owner := Owner(p, got, strategies); owner != s {
						t.Fatalf("%s: Owner = %q", what, owner)
					}
				}
			}
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, id := range []string{"", "sb", "sb-", "sb-grid", "sb-grid-", "sb-grid-x1", "xx-grid-1", "sb-.2n9c-1",
		"sb-grid.0-1", "sb-grid.02n9c-1", "sb-grid.2N9C-1", "sb-grid.-1", "sb-a.b.1-1", "sb-grid.zzzzzzzzzzzzzz-1", "sb--1",
		"sb-grid-loyw_", "sb-grid-_1", "sb-grid-0loyw_1", "sb-grid-loyw_01", "sb-grid-LOYW_1", "sb-grid-lo_yw_1", "sb-grid-0_1"} {
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
	f.Add("sb", "sb-grid.2n9c-loyw3v28_1z")
	f.Fuzz(func(t *testing.T, prefix, id string) {
		got, ok := Parse(prefix, id)
		if !ok {
			return
		}
		if strings.Contains(got.Strategy, ".") || got.Strategy == "" || got.Term < 0 {
			t.Fatalf("Parse(%q, %q) = %+v", prefix, id, got)
		}
		if got.Life > 0 {
			host := Life(prefix, got.Strategy, got.Term, got.Life) + "_" + strconv.FormatUint(got.Seq, termBase)
			if len(got.Strategy) <= lifeRoomFor(prefix, got.Term) && host != id {
				t.Fatalf("Parse(%q, %q) = %+v, but Life gives %q", prefix, id, got, host)
			}
			return
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
