package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// ConsoleHandler is a slog.Handler writing one compact line per record:
//
//	15:04:05.000 INF supervisor started child=bus
//
// time (local, milliseconds), a 3-letter level (DBG, INF, WRN, ERR, with
// +N/-N for levels in between), the message, then key=value attributes.
// Values with spaces, quotes, '=' or control characters are quoted; groups
// become dotted prefixes (http.status=200). It is safe for concurrent use.
type ConsoleHandler struct {
	w      io.Writer
	mu     *sync.Mutex // shared by handlers derived with WithAttrs/WithGroup
	level  slog.Leveler
	pre    []byte // attributes added with WithAttrs, already formatted
	prefix string // open groups, "g1.g2."
}

// NewConsoleHandler returns a ConsoleHandler writing to w records at level
// or above (nil means info).
func NewConsoleHandler(w io.Writer, level slog.Leveler) *ConsoleHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &ConsoleHandler{w: w, mu: &sync.Mutex{}, level: level}
}

// Enabled reports whether a record at level would be written.
func (h *ConsoleHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Handle formats r as one line and writes it with a single Write.
func (h *ConsoleHandler) Handle(_ context.Context, r slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	if !r.Time.IsZero() {
		buf = r.Time.AppendFormat(buf, "15:04:05.000")
		buf = append(buf, ' ')
	}
	buf = appendLevel(buf, r.Level)
	buf = append(buf, ' ')
	buf = append(buf, r.Message...)
	buf = append(buf, h.pre...)
	r.Attrs(func(a slog.Attr) bool {
		buf = appendAttr(buf, h.prefix, a)
		return true
	})
	buf = append(buf, '\n')
	h.mu.Lock()
	_, err := h.w.Write(buf)
	h.mu.Unlock()
	if cap(buf) <= 16<<10 { // don't keep huge buffers
		*bp = buf
		bufPool.Put(bp)
	}
	return err
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *ConsoleHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.pre = append([]byte(nil), h.pre...)
	for _, a := range attrs {
		h2.pre = appendAttr(h2.pre, h.prefix, a)
	}
	return &h2
}

// WithGroup returns a handler that prefixes later attribute keys with name.
func (h *ConsoleHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

func appendLevel(buf []byte, l slog.Level) []byte {
	var name string
	var base slog.Level
	switch {
	case l < slog.LevelInfo:
		name, base = "DBG", slog.LevelDebug
	case l < slog.LevelWarn:
		name, base = "INF", slog.LevelInfo
	case l < slog.LevelError:
		name, base = "WRN", slog.LevelWarn
	default:
		name, base = "ERR", slog.LevelError
	}
	buf = append(buf, name...)
	if d := l - base; d != 0 {
		if d > 0 {
			buf = append(buf, '+')
		}
		buf = strconv.AppendInt(buf, int64(d), 10)
	}
	return buf
}

func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return buf
		}
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range attrs {
			buf = appendAttr(buf, prefix, ga)
		}
		return buf
	}
	buf = append(buf, ' ')
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = append(buf, '=')
	return appendValue(buf, a.Value)
}

func appendValue(buf []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(buf, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(buf, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		return append(buf, v.Duration().String()...)
	case slog.KindTime:
		return v.Time().AppendFormat(buf, time.RFC3339Nano)
	}
	switch x := v.Any().(type) {
	case error:
		return appendString(buf, x.Error())
	case fmt.Stringer:
		return appendString(buf, x.String())
	case []byte:
		return appendString(buf, string(x))
	case nil:
		return append(buf, "<nil>"...)
	default:
		if b, err := json.Marshal(x); err == nil {
			return appendString(buf, string(b))
		}
		return appendString(buf, fmt.Sprintf("%+v", x))
	}
}

// appendString appends s, quoted when it is empty or holds a space, a quote,
// '=', a control character or invalid UTF-8.
func appendString(buf []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b <= ' ' || b == '=' || b == '"' || b == '\\' || b == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == '\u00a0' || r == '\u2028' || r == '\u2029' {
			return true
		}
		i += size
	}
	return false
}
