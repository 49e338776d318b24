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
//
// The strategy host makes its own ids, one series per life of a strategy
// (Life): PREFIX-STRATEGY[.TERM]-LIFE_SEQ, LIFE the life's start and SEQ
// the order's number in it, both in base 36. "_" keeps them apart from the
// order actor's -DIGITS ids, which it refuses from callers, and the term
// lets a new leader adopt an earlier leader's strategy orders.
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

// lifeRoom is the room kept for a host id's tail: "-", the life's start in
// base 36 (9 digits until the year 5188), "_" and 5 base-36 digits of
// sequence.
const lifeRoom = 1 + 9 + 1 + 5

// ID is what an id says.
type ID struct {
	// Strategy is the strategy part, possibly shortened (see Owner).
	Strategy string
	// Term is the leader's fencing token; 0 for a single node's ids.
	Term int64
	// Seq is the strategy's order sequence number (in its life, for the
	// host's ids).
	Seq uint64
	// Life is, for an id the strategy host made, its life's start (Unix
	// ms); 0 for the order actor's ids.
	Life int64
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

// Life returns the start of the strategy host's ids for the life of a
// strategy that started at startMs (Unix ms), in term (0: a single node):
// PREFIX-STRATEGY[.TERM]-LIFE, without "PREFIX-" when prefix is empty. The
// host appends "_" and the order's number in base 36; up to 36^5 orders per
// life, prefixes up to 8 characters and terms below 36^8 the id stays
// within MaxLen. Lives that start at different times never share an id.
func Life(prefix, strategy string, term int64, startMs int64) string {
	t := ""
	if term > 0 {
		t = "." + strconv.FormatInt(term, termBase)
	}
	p := prefix
	if p != "" {
		p += "-"
	}
	return p + shorten(strategy, lifeRoomFor(prefix, term)) + t + "-" + strconv.FormatInt(startMs, termBase)
}

// lifeRoomFor is the strategy part's length limit in Life's ids.
func lifeRoomFor(prefix string, term int64) int {
	n := MaxLen - lifeRoom
	if prefix != "" {
		n -= len(prefix) + 1
	}
	if term > 0 {
		n -= 1 + len(strconv.FormatInt(term, termBase))
	}
	return max(1, min(maxStrategy, n))
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

// Parse reads an id Make, or the strategy host from Life, could have made
// with prefix; ok is false for any other id (another prefix, no -SEQ or
// -LIFE_SEQ tail, a term that is not canonical base 36 > 0).
func Parse(prefix, id string) (ID, bool) {
	rest, ok := strings.CutPrefix(id, prefix+"-")
	dash := strings.LastIndexByte(rest, '-')
	if !ok || prefix == "" || dash <= 0 || dash == len(rest)-1 {
		return ID{}, false
	}
	out, ok := parseTail(rest[dash+1:])
	if !ok {
		return ID{}, false
	}
	out.Strategy = rest[:dash]
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

// parseTail reads an id's -SEQ (decimal) or -LIFE_SEQ (canonical base 36)
// tail.
func parseTail(tail string) (ID, bool) {
	life, seq, host := strings.Cut(tail, "_")
	if !host {
		n, err := strconv.ParseUint(tail, 10, 64)
		return ID{Seq: n}, err == nil && digits(tail)
	}
	l, err1 := strconv.ParseInt(life, termBase, 64)
	n, err2 := strconv.ParseUint(seq, termBase, 64)
	if err1 != nil || err2 != nil || l <= 0 || strconv.FormatInt(l, termBase) != life || strconv.FormatUint(n, termBase) != seq {
		return ID{}, false
	}
	return ID{Seq: n, Life: l}, true
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
// Make (or Life) would have written as id.Strategy (known is searched in
// order; the first match wins), else id.Strategy itself.
func Owner(prefix string, id ID, known []string) string {
	n := maxStrategy
	switch {
	case id.Life > 0:
		n = lifeRoomFor(prefix, id.Term)
	case id.Term > 0:
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
