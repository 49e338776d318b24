package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The generic renderer prints any result: objects as indented "key: value"
// lines, lists of objects as tables, in the order the daemon sent the keys
// (protojson writes fields in declaration order).

type kind int

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
)

// value is a JSON value that keeps the order of object keys.
type value struct {
	kind  kind
	str   string   // scalar text (a string's content, a number as written)
	keys  []string // object keys, in order
	vals  []*value // object values, parallel to keys
	items []*value // array items
}

func parseOrdered(raw []byte) (*value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return readValue(dec)
}

func readValue(dec *json.Decoder) (*value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			v := &value{kind: kindObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				child, err := readValue(dec)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, child)
			}
			_, err := dec.Token()
			return v, err
		}
		v := &value{kind: kindArray}
		for dec.More() {
			child, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, child)
		}
		_, err := dec.Token()
		return v, err
	case string:
		return &value{kind: kindString, str: t}, nil
	case json.Number:
		return &value{kind: kindNumber, str: t.String()}, nil
	case bool:
		return &value{kind: kindBool, str: strconv.FormatBool(t)}, nil
	case nil:
		return &value{kind: kindNull}, nil
	}
	return nil, errors.New("unexpected JSON token")
}

func (v *value) get(key string) *value {
	if v == nil {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

func (v *value) without(key string) *value {
	out := &value{kind: v.kind}
	for i, k := range v.keys {
		if k != key {
			out.keys = append(out.keys, k)
			out.vals = append(out.vals, v.vals[i])
		}
	}
	return out
}

func (v *value) scalar() bool { return v.kind != kindObject && v.kind != kindArray }

// scalarList reports an array whose items are all scalars.
func (v *value) scalarList() bool {
	if v.kind != kindArray {
		return false
	}
	for _, it := range v.items {
		if !it.scalar() {
			return false
		}
	}
	return true
}

// objectList reports a non-empty array of objects.
func (v *value) objectList() bool {
	if v.kind != kindArray || len(v.items) == 0 {
		return false
	}
	for _, it := range v.items {
		if it.kind != kindObject {
			return false
		}
	}
	return true
}

// compact re-encodes v as JSON on one line, keys in order.
func (v *value) compact() string {
	var b strings.Builder
	v.writeJSON(&b)
	return b.String()
}

func (v *value) writeJSON(b *strings.Builder) {
	switch v.kind {
	case kindNull:
		b.WriteString("null")
	case kindString:
		s, _ := json.Marshal(v.str)
		b.Write(s)
	case kindNumber, kindBool:
		b.WriteString(v.str)
	case kindObject:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			s, _ := json.Marshal(k)
			b.Write(s)
			b.WriteByte(':')
			v.vals[i].writeJSON(b)
		}
		b.WriteByte('}')
	case kindArray:
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.writeJSON(b)
		}
		b.WriteByte(']')
	}
}

// text renders a value for a cell: scalars formatted by key, lists of
// scalars joined, anything else as compact JSON (cut to 60 characters).
func (v *value) text(key string) string {
	switch {
	case v.scalar():
		return formatScalar(key, v)
	case v.scalarList():
		if len(v.items) == 0 {
			return "-"
		}
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			parts[i] = formatScalar(key, it)
		}
		return strings.Join(parts, ", ")
	case v.kind == kindObject && len(v.keys) == 0:
		return "-"
	}
	s := v.compact()
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

// formatScalar shows null and "" as "-" and times in local time; numbers
// (also 64-bit integers sent as strings) go through formatNumber.
func formatScalar(key string, v *value) string {
	switch v.kind {
	case kindNull:
		return "-"
	case kindString:
		switch {
		case v.str == "":
			return "-"
		case looksLikeTime(v.str):
			return shortTime(v.str)
		case unitKey(key) && isInteger(v.str):
			return formatNumber(key, v.str)
		}
		return enumValue(key, v.str)
	case kindNumber:
		return formatNumber(key, v.str)
	}
	return v.str
}

// formatNumber renders a number by its key's unit: "_bytes" in KiB/MiB/GiB,
// "_seconds" and "_ms" as durations, "time_ms" and "until_ms" (Unix epoch
// milliseconds) as local times, a "pid" of 0 as "-"; other fractions are
// rounded to 3 decimals.
func formatNumber(key, s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return s
	}
	switch {
	case key == "pid" && f == 0:
		return "-"
	case strings.HasSuffix(key, "_bytes"):
		return humanBytes(s)
	case strings.HasSuffix(key, "_seconds"):
		return seconds(f)
	case strings.HasSuffix(key, "time_ms") || strings.HasSuffix(key, "until_ms"):
		if f <= 0 {
			return "-"
		}
		return time.UnixMilli(int64(f)).Local().Format(timeLayout)
	case strings.HasSuffix(key, "_ms"):
		return millis(f)
	}
	return roundNumber(s)
}

// enumPattern matches a protobuf enum value name such as STREAM_KIND_PRICE.
var enumPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)

// enumValue shows a protojson enum value without its type's prefix, as the
// field key names it: kind STREAM_KIND_PRICE is "price", code
// ERROR_CODE_NOT_FOUND "not_found", an UNSPECIFIED value "-". Other
// strings are returned as they are.
func enumValue(key, s string) string {
	if key == "" || !enumPattern.MatchString(s) {
		return s
	}
	marker := strings.ToUpper(key) + "_"
	i := strings.Index(s, marker)
	if i < 0 || (i > 0 && s[i-1] != '_') {
		return s
	}
	rest := s[i+len(marker):]
	if rest == "" || rest == "UNSPECIFIED" {
		return "-"
	}
	return strings.ToLower(rest)
}

// unitKey reports a key whose number formatNumber renders by its unit.
func unitKey(key string) bool {
	return key == "pid" || strings.HasSuffix(key, "_bytes") || strings.HasSuffix(key, "_seconds") || strings.HasSuffix(key, "_ms")
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// millis renders a number of milliseconds as a duration: "250µs", "5ms",
// "1m0s".
func millis(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d == 0:
		return "0s"
	case d.Abs() < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d.Abs() < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func looksLikeTime(s string) bool {
	return len(s) >= 20 && s[4] == '-' && s[10] == 'T' && (strings.HasSuffix(s, "Z") || strings.Contains(s[19:], "+") || strings.Contains(s[19:], "-"))
}

func roundNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return s
	}
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}

func humanBytes(s string) string {
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// newRightTable right-aligns cells (numbers); end each cell with a tab.
func newRightTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
}

// renderGeneric prints any result.
func renderGeneric(w io.Writer, res json.RawMessage) error {
	v, err := parseOrdered(res)
	if err != nil {
		_, err := fmt.Fprintf(w, "%s\n", res)
		return err
	}
	tw := newTable(w)
	switch {
	case v.scalar():
		fprintln(tw, formatScalar("", v))
	case v.objectList():
		writeTable(tw, v.items, "")
	case v.kind == kindArray:
		fprintln(tw, v.text(""))
	case len(v.keys) == 1 && v.vals[0].objectList():
		writeTable(tw, v.vals[0].items, "") // {"modules": [...]}: just the table
	case len(v.keys) == 0:
		fprintln(tw, "ok")
	default:
		writeObject(tw, v, "")
	}
	return tw.Flush()
}

// writeObject prints "key:\tvalue" lines; nested objects and tables are
// indented under their key.
func writeObject(w io.Writer, v *value, indent string) {
	for i, k := range v.keys {
		child := v.vals[i]
		switch {
		case k == "error" && child.kind == kindNull:
			// a response's unset error field (inside an Any)
		case child.kind == kindObject && len(child.keys) > 0:
			fprintf(w, "%s%s:\n", indent, k)
			writeObject(w, anyBody(child), indent+"  ")
		case child.objectList():
			fprintf(w, "%s%s:\n", indent, k)
			writeTable(w, child.items, indent+"  ")
			if f, ok := w.(interface{ Flush() error }); ok {
				_ = f.Flush() // the keys after the table are not its columns
			}
		default:
			fprintf(w, "%s%s:\t%s\n", indent, k, child.text(k))
		}
	}
}

// anyBody drops a protojson Any's "@type": the message name is internal.
func anyBody(v *value) *value {
	if v.get("@type") == nil {
		return v
	}
	return v.without("@type")
}

// writeTable prints objects as a table whose columns are their keys, in
// order of first appearance.
func writeTable(w io.Writer, rows []*value, indent string) {
	var cols []string
	seen := map[string]bool{}
	for _, r := range rows {
		for _, k := range r.keys {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = strings.ToUpper(strings.ReplaceAll(c, "_", " "))
	}
	fprintf(w, "%s%s\n", indent, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = "-"
			if cv := r.get(c); cv != nil {
				cells[i] = cv.text(c)
			}
		}
		fprintf(w, "%s%s\n", indent, strings.Join(cells, "\t"))
	}
}

// compact returns raw on one line (it is already valid JSON).
func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

func indentJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// num is a number that protojson may write as a JSON number or, for 64-bit
// integers, a string.
type num string

// UnmarshalJSON accepts 12, "12" and null.
func (n *num) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		s = ""
	}
	*n = num(s)
	return nil
}

// fprintf, fprintln and fprint write to w and ignore the error: output goes
// to the env's errWriter, which keeps the first write error for the exit
// code, or to a tabwriter whose Flush error is returned.
func fprintf(w io.Writer, format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }

func fprintln(w io.Writer, args ...any) { _, _ = fmt.Fprintln(w, args...) }

func fprint(w io.Writer, args ...any) { _, _ = fmt.Fprint(w, args...) }

// errWriter remembers the first write error; later writes are dropped.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
