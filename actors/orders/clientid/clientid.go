// Package clientid makes and reads the order actor's client order ids.
//
// On a single node (term 0) an id is PREFIX-STRATEGY-SEQ, as it always
// was. In a cluster the trading leader's fencing token (its term) goes in
// too, in base 36 after a dot: PREFIX-STRATEGY.TERM-SEQ, e.g.
// "sb-grid.2n9c-17" (term 123456). A dot never appears in a strategy name,
// a prefix or a caller's own client id, so the term is read back without
// ambiguity, two terms never make the same id (the sequences of two
// leaders may overlap: a new leader's journal can be behind), and a
// caller's id never equals one of ours. Every id stays within Binance's
// ^[\.A-Z\:/a-z0-9_-]{1,36}$ for sequences below 10^10: a strategy name
// longer than the room left is shortened to its first letters, "_" and a
// hash of the whole name (deterministic, so the owner is found again).
package clientid

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// MaxLen is the longest client order id Binance accepts.
const MaxLen = 36

// seqRoom is the room kept for the sequence: 10 digits.
const seqRoom = 10

// termBase is the base the term is written in.
const termBase = 36

// maxStrategy is the longest strategy part of a term-0 id.
const maxStrategy = 16

// ID is what an id says.
type ID struct {
	// Strategy is the strategy part, possibly shortened (see Owner).
	Strategy string
	// Term is the leader's fencing token; 0 for a single node's ids.
	Term int64
	// Seq is the strategy's order sequence number.
	Seq uint64
}

// Make returns the id of a strategy's seq-th order in term (0: a single
// node, whose ids have no term).
func Make(prefix, strategy string, term int64, seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	if term <= 0 {
		return prefix + "-" + shorten(strategy, maxStrategy) + "-" + s
	}
	t := strconv.FormatInt(term, termBase)
	return prefix + "-" + shorten(strategy, room(prefix, t)) + "." + t + "-" + s
}

// room is the strategy part's length limit in a term's ids.
func room(prefix, term string) int {
	return max(1, min(maxStrategy, MaxLen-len(prefix)-3-len(term)-seqRoom))
}

// shorten fits a strategy name in n characters: the name itself when it
// fits, else its first n-7 characters, "_" and 6 hex digits of its FNV-1a
// hash (or, with less than 8 characters of room, the hash's first n hex
// digits).
func shorten(strategy string, n int) string {
	if len(strategy) <= n {
		return strategy
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(strategy))
	sum := h.Sum32()
	if n < 8 {
		return fmt.Sprintf("%08x", sum)[:n]
	}
	return fmt.Sprintf("%s_%06x", strategy[:n-7], sum&0xffffff)
}

// Parse reads an id Make could have made with prefix; ok is false for any
// other id (another prefix, no -SEQ tail, a term that is not canonical
// base 36 > 0).
func Parse(prefix, id string) (ID, bool) {
	rest, ok := strings.CutPrefix(id, prefix+"-")
	dash := strings.LastIndexByte(rest, '-')
	if !ok || prefix == "" || dash <= 0 || dash == len(rest)-1 {
		return ID{}, false
	}
	seq, err := strconv.ParseUint(rest[dash+1:], 10, 64)
	if err != nil || !digits(rest[dash+1:]) {
		return ID{}, false
	}
	out := ID{Strategy: rest[:dash], Seq: seq}
	if dot := strings.LastIndexByte(out.Strategy, '.'); dot >= 0 {
		t := out.Strategy[dot+1:]
		term, err := strconv.ParseInt(t, termBase, 64)
		if err != nil || term <= 0 || strconv.FormatInt(term, termBase) != t {
			return ID{}, false
		}
		out.Strategy, out.Term = out.Strategy[:dot], term
	}
	if out.Strategy == "" || strings.ContainsAny(out.Strategy, ".") {
		return ID{}, false
	}
	return out, true
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Owner names the strategy of a parsed id: the known strategy whose name
// Make would have written as id.Strategy (known is searched in order; the
// first match wins), else id.Strategy itself.
func Owner(prefix string, id ID, known []string) string {
	n := maxStrategy
	if id.Term > 0 {
		n = room(prefix, strconv.FormatInt(id.Term, termBase))
	}
	if slices.Contains(known, id.Strategy) {
		return id.Strategy
	}
	for _, k := range known {
		if shorten(k, n) == id.Strategy {
			return k
		}
	}
	return id.Strategy
}
