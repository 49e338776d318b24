package messages

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// JSONAppender is implemented by the responses of the hottest methods
// (daemon.status): AppendJSON renders the message as the package's
// AppendJSON renders every answer, without reflection. Tests check the two
// agree on every field.
type JSONAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// AppendJSON appends x rendered as the package's AppendJSON renders any
// message by reflection (byte for byte).
func (x *DaemonStatusResponse) AppendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"version":`...)
	b = appendJSONString(b, x.GetVersion())
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(x.GetPid()), 10)
	b = append(b, `,"node":`...)
	b = appendJSONString(b, x.GetNode())
	b = append(b, `,"uptime_seconds":`...)
	b = appendFloatBits(b, x.GetUptimeSeconds(), 64)
	b = append(b, `,"config_source":`...)
	b = appendJSONString(b, x.GetConfigSource())
	if x.GetStartedAt() != nil {
		b = append(b, `,"started_at":`...)
		if b, err = appendJSONTimestamp(b, x.GetStartedAt()); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"state":`...)
	b = appendJSONString(b, x.GetState())
	b = append(b, `,"tree":`...)
	if b, err = appendTree(b, x.GetTree()); err != nil {
		return nil, err
	}
	b = append(b, `,"details":{`...)
	var kb [8]string // no allocation for the usual handful of details
	keys := kb[:0]
	for k := range x.GetDetails() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		if b, err = appendAny(b, x.GetDetails()[k]); err != nil {
			return nil, err
		}
	}
	b = append(b, '}')
	if x.GetError() != nil {
		b = append(b, `,"error":`...)
		if b, err = appendMessage(b, x.GetError().ProtoReflect()); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// AppendJSON appends x as the package's AppendJSON renders it (see
// DaemonStatusResponse.AppendJSON).
func (x *ChildStatus) AppendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"name":`...)
	b = appendJSONString(b, x.GetName())
	b = append(b, `,"state":`...)
	b = appendJSONString(b, x.GetState())
	b = append(b, `,"restarts":`...)
	b = strconv.AppendUint(b, uint64(x.GetRestarts()), 10)
	b = append(b, `,"last_error":`...)
	b = appendJSONString(b, x.GetLastError())
	if x.GetSince() != nil {
		b = append(b, `,"since":`...)
		if b, err = appendJSONTimestamp(b, x.GetSince()); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"children":`...)
	if b, err = appendChildStatuses(b, x.GetChildren()); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendChildStatuses(b []byte, list []*ChildStatus) ([]byte, error) {
	b = append(b, '[')
	for i, c := range list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = c.AppendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// treeCache keeps the rendering of the last tree shown: the root supervisor
// answers status calls with the same tree slice until something changes,
// and then builds a new one (a tree is replaced, never changed in place:
// see StatusReport). Keyed by the slice's backing array, which the entry
// holds, so the address cannot be reused while cached.
var treeCache atomic.Pointer[renderedTree]

type renderedTree struct {
	list []*ChildStatus
	enc  []byte
}

func appendTree(b []byte, list []*ChildStatus) ([]byte, error) {
	if len(list) == 0 {
		return appendChildStatuses(b, list)
	}
	if c := treeCache.Load(); c != nil && len(c.list) == len(list) && &c.list[0] == &list[0] {
		return append(b, c.enc...), nil
	}
	start := len(b)
	b, err := appendChildStatuses(b, list)
	if err != nil {
		return nil, err
	}
	treeCache.Store(&renderedTree{list: list, enc: slices.Clone(b[start:])})
	return b, nil
}

// anyCache keeps the rendering of the details' Any values: they are
// reported once and shown on every daemon.status call. Keyed by pointer:
// a reported message is never changed (see StatusReport), and the entry
// holds the pointer, so the address cannot be reused while cached.
var anyCache struct {
	sync.Mutex
	m map[*anypb.Any][]byte
}

const anyCacheMax = 64

func appendAny(b []byte, a *anypb.Any) ([]byte, error) {
	anyCache.Lock()
	enc, ok := anyCache.m[a]
	anyCache.Unlock()
	if !ok {
		var err error
		if enc, err = appendMessage(nil, a.ProtoReflect()); err != nil {
			return nil, err
		}
		anyCache.Lock()
		if anyCache.m == nil || len(anyCache.m) >= anyCacheMax {
			anyCache.m = map[*anypb.Any][]byte{}
		}
		anyCache.m[a] = enc
		anyCache.Unlock()
	}
	return append(b, enc...), nil
}

// appendFloatBits renders a double (bits 64) or a float (bits 32) as
// protojson does.
func appendFloatBits(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' { // e-07 → e-7, as encoding/json and protojson write it
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// Timestamp bounds of the JSON mapping (0001-01-01 to 9999-12-31).
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

var errTimestampRange = errors.New("google.protobuf.Timestamp out of range")

// appendJSONTimestamp renders a Timestamp as protojson does: RFC 3339 in
// UTC with 0, 3, 6 or 9 fractional digits.
func appendJSONTimestamp(b []byte, ts *timestamppb.Timestamp) ([]byte, error) {
	return appendJSONTime(b, ts.GetSeconds(), ts.GetNanos())
}

// appendJSONTime is appendJSONTimestamp for a Timestamp's two fields.
func appendJSONTime(b []byte, secs int64, nanos int32) ([]byte, error) {
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return nil, errTimestampRange
	}
	t := time.Unix(secs, int64(nanos)).UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = append(b, '"')
	b = appendPadded(b, year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(month), 2)
	b = append(b, '-')
	b = appendPadded(b, day, 2)
	b = append(b, 'T')
	b = appendPadded(b, hour, 2)
	b = append(b, ':')
	b = appendPadded(b, minute, 2)
	b = append(b, ':')
	b = appendPadded(b, sec, 2)
	b = appendFraction(b, nanos)
	return append(b, 'Z', '"'), nil
}

// appendFraction writes nanos (0 to 999,999,999) as protojson does: nothing
// for 0, else a point and 3, 6 or 9 digits.
func appendFraction(b []byte, nanos int32) []byte {
	switch {
	case nanos == 0:
		return b
	case nanos%1e6 == 0:
		return appendPadded(append(b, '.'), int(nanos/1e6), 3)
	case nanos%1e3 == 0:
		return appendPadded(append(b, '.'), int(nanos/1e3), 6)
	}
	return appendPadded(append(b, '.'), int(nanos), 9)
}

func appendPadded(b []byte, v, width int) []byte {
	var buf [9]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as protojson does: '"', '\\' and control
// characters escaped, everything else as is; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
