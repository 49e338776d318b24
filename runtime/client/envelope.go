package client

import (
	"bytes"
	"encoding/json"
)

// parseMessage splits one JSON-RPC object into m in a single pass: the
// values of id, params and result are kept raw (the caller decodes result
// into what it asked for, once), only method and error are decoded. It
// reports false for anything it does not fully understand (a key with an
// escape, a broken structure, trailing bytes), and the caller falls back to
// encoding/json, which then names the problem. Large results cost one scan
// instead of encoding/json's validation pass plus its decoding pass.
func parseMessage(line []byte, m *message) bool {
	s := scanner{b: line}
	s.space()
	if !s.eat('{') {
		return false
	}
	s.space()
	if s.eat('}') {
		return s.end()
	}
	var seen uint
	for {
		s.space()
		key, ok := s.rawString()
		if !ok || bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		s.space()
		if !s.eat(':') {
			return false
		}
		s.space()
		start := s.i
		if !s.value(0) {
			return false
		}
		raw := line[start:s.i]
		name := key[1 : len(key)-1]
		known := knownKey(name)
		if known < 0 {
			if foldsToKnown(name) { // encoding/json matches keys case-insensitively
				return false
			}
		} else if seen&(1<<known) != 0 { // a repeated key: leave it to encoding/json
			return false
		} else {
			seen |= 1 << known
		}
		switch string(name) {
		case "id":
			m.ID = raw
		case "params":
			m.Params = raw
		case "result":
			m.Result = raw
		case "method":
			if json.Unmarshal(raw, &m.Method) != nil {
				return false
			}
		case "error":
			if !bytes.Equal(raw, []byte("null")) {
				m.Error = &Error{}
				if json.Unmarshal(raw, m.Error) != nil {
					return false
				}
			}
		}
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return s.end()
		}
		return false
	}
}

var envelopeKeys = [...]string{"jsonrpc", "id", "method", "params", "result", "error"}

func knownKey(name []byte) int {
	for i, k := range envelopeKeys {
		if string(name) == k {
			return i
		}
	}
	return -1
}

func foldsToKnown(name []byte) bool {
	for _, k := range envelopeKeys {
		if bytes.EqualFold(name, []byte(k)) {
			return true
		}
	}
	return false
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// rawString returns the quoted string at s.i, quotes included.
func (s *scanner) rawString() ([]byte, bool) {
	start := s.i
	if !s.eat('"') {
		return nil, false
	}
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start:s.i], true
		case c == '\\':
			if !s.escape() {
				return nil, false
			}
		case c < 0x20:
			return nil, false
		default:
			s.i++
		}
	}
	return nil, false
}

// value skips one JSON value, checking its grammar.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) || depth > maxDepth {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, ok := s.rawString()
		return ok
	case '{', '[':
		open := s.b[s.i]
		closer := byte('}')
		if open == '[' {
			closer = ']'
		}
		s.i++
		s.space()
		if s.eat(closer) {
			return true
		}
		for {
			s.space()
			if open == '{' {
				if _, ok := s.rawString(); !ok {
					return false
				}
				s.space()
				if !s.eat(':') {
					return false
				}
				s.space()
			}
			if !s.value(depth + 1) {
				return false
			}
			s.space()
			if s.eat(',') {
				continue
			}
			return s.eat(closer)
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

// escape checks the escape sequence at s.i (at the backslash) and skips it.
func (s *scanner) escape() bool {
	if s.i+1 >= len(s.b) {
		return false
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return true
	case 'u':
		if s.i+6 > len(s.b) {
			return false
		}
		for _, c := range s.b[s.i+2 : s.i+6] {
			if !isHex(c) {
				return false
			}
		}
		s.i += 6
		return true
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *scanner) literal(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.digits() == 0:
		return false
	}
	if s.eat('.') && s.digits() == 0 {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}
