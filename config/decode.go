package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	durationType        = reflect.TypeFor[time.Duration]()
	timeType            = reflect.TypeFor[time.Time]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decoder fills Go values from a merged TOML tree, strictly, collecting
// every problem instead of stopping at the first (toml.Decode stops).
type decoder struct {
	probs *Problems
	where func(key string) (file string, line int)
	// secret is set while decoding a secret key: problems then never show
	// its value.
	secret bool
}

func (d *decoder) problem(key, format string, args ...any) {
	if d.secret {
		format, args = "invalid value (a secret, not shown)", nil
	}
	file, line := d.where(key)
	d.probs.add(Problem{Key: key, File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) mismatch(key, want string, raw any) {
	if d.secret {
		d.secret = false
		defer func() { d.secret = true }()
		d.problem(key, "expected %s, got %s (a secret, value not shown)", want, typeName(raw))
		return
	}
	d.problem(key, "expected %s, got %s", want, describe(raw))
}

// decodeKey decodes one key, hiding its value in problems if it is secret.
func (d *decoder) decodeKey(v reflect.Value, raw any, key string, tagged bool) {
	if !d.secret && isSecret(key, tagged) {
		d.secret = true
		defer func() { d.secret = false }()
	}
	d.decode(v, raw, key)
}

// decode sets v from raw; on a problem v keeps its previous value.
func (d *decoder) decode(v reflect.Value, raw any, key string) {
	t := v.Type()
	switch {
	case t == durationType:
		d.decodeDuration(v, raw, key)
		return
	case t == timeType:
		if tm, ok := raw.(time.Time); ok {
			v.Set(reflect.ValueOf(tm))
		} else {
			d.mismatch(key, "a datetime", raw)
		}
		return
	case reflect.PointerTo(t).Implements(textUnmarshalerType) && t.Kind() != reflect.Struct:
		d.decodeText(v, raw, key)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeStruct(v, raw, key)
	case reflect.Map:
		d.decodeMap(v, raw, key)
	case reflect.Slice, reflect.Array:
		d.decodeList(v, raw, key)
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		if !v.IsNil() {
			nv.Elem().Set(v.Elem())
		}
		before := len(d.probs.List)
		d.decode(nv.Elem(), raw, key)
		if len(d.probs.List) == before {
			v.Set(nv)
		}
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.problem(key, "unsupported Go type %s", t)
			return
		}
		v.Set(reflect.ValueOf(raw))
	default:
		d.decodeScalar(v, raw, key)
	}
}

// decodeText sets v, a type with UnmarshalText, from a TOML string.
func (d *decoder) decodeText(v reflect.Value, raw any, key string) {
	s, ok := raw.(string)
	if !ok {
		d.mismatch(key, "a string", raw)
		return
	}
	nv := reflect.New(v.Type())
	if err := nv.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		d.problem(key, "invalid value %q: %v", s, err)
		return
	}
	v.Set(nv.Elem())
}

// decodeScalar sets v, a string, bool or number, from raw.
func (d *decoder) decodeScalar(v reflect.Value, raw any, key string) {
	t := v.Type()
	switch t.Kind() {
	case reflect.String:
		if s, ok := raw.(string); ok {
			v.SetString(s)
		} else {
			d.mismatch(key, "a string", raw)
		}
	case reflect.Bool:
		if b, ok := raw.(bool); ok {
			v.SetBool(b)
		} else {
			d.mismatch(key, "a boolean", raw)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := raw.(int64)
		switch {
		case !ok:
			d.mismatch(key, "an integer", raw)
		case v.OverflowInt(n):
			d.problem(key, "%d is out of range for %s", n, t.Kind())
		default:
			v.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := raw.(int64)
		switch {
		case !ok:
			d.mismatch(key, "an integer", raw)
		case n < 0 || v.OverflowUint(uint64(n)):
			d.problem(key, "%d is out of range for %s", n, t.Kind())
		default:
			v.SetUint(uint64(n))
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		switch n := raw.(type) {
		case float64:
			f = n
		case int64:
			f = float64(n)
		default:
			d.mismatch(key, "a number", raw)
			return
		}
		if v.OverflowFloat(f) {
			d.problem(key, "%g is out of range for %s", f, t.Kind())
			return
		}
		v.SetFloat(f)
	default:
		d.problem(key, "unsupported Go type %s", t)
	}
}

func (d *decoder) decodeDuration(v reflect.Value, raw any, key string) {
	s, ok := raw.(string)
	if !ok {
		d.problem(key, `expected a duration string such as "30s", got %s`, describe(raw))
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.problem(key, `invalid duration %q: use a number and a unit, such as "30s" or "1m30s"`, s)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeStruct(v reflect.Value, raw any, key string) {
	table, ok := raw.(map[string]any)
	if !ok {
		d.mismatch(key, "a table", raw)
		return
	}
	fields := structFields(v.Type())
	byName := make(map[string]fieldInfo, len(fields))
	for _, f := range fields {
		byName[f.name] = f
	}
	for _, k := range sortedKeys(table) {
		f, ok := byName[k]
		if !ok {
			d.problem(joinKey(key, k), "unknown key")
			continue
		}
		d.decodeKey(v.FieldByIndex(f.index), table[k], joinKey(key, k), f.secret)
	}
}

func (d *decoder) decodeMap(v reflect.Value, raw any, key string) {
	table, ok := raw.(map[string]any)
	if !ok {
		d.mismatch(key, "a table", raw)
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.problem(key, "unsupported Go type %s", t)
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(table)))
	}
	for _, k := range sortedKeys(table) {
		mk := reflect.ValueOf(k).Convert(t.Key())
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(mk); old.IsValid() {
			elem.Set(old)
		} else if def, ok := entryDefaults[t.Elem()]; ok {
			elem.Set(def())
		}
		d.decodeKey(elem, table[k], joinKey(key, k), false)
		v.SetMapIndex(mk, elem)
	}
}

func (d *decoder) decodeList(v reflect.Value, raw any, key string) {
	rv := reflect.ValueOf(raw)
	if raw == nil || rv.Kind() != reflect.Slice {
		d.mismatch(key, "an array", raw)
		return
	}
	t := v.Type()
	n := rv.Len()
	out := v
	if t.Kind() == reflect.Array {
		if n != t.Len() {
			d.problem(key, "expected an array of %d, got %d elements", t.Len(), n)
			return
		}
		out = reflect.New(t).Elem()
	} else {
		out = reflect.MakeSlice(t, n, n)
	}
	before := len(d.probs.List)
	for i := range n {
		d.decode(out.Index(i), rv.Index(i).Interface(), key+"["+strconv.Itoa(i)+"]")
	}
	if len(d.probs.List) == before {
		v.Set(out)
	}
}

// fieldInfo is one TOML-visible struct field.
type fieldInfo struct {
	name   string
	index  []int
	secret bool // tagged `secret:"true"`
}

// structFields lists the TOML keys of a struct in declaration order: the
// toml tag name (or the Go name), skipping "-" and unexported fields, with
// untagged embedded structs flattened as BurntSushi/toml does.
func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, sub := range structFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{name: name, index: []int{i}, secret: f.Tag.Get("secret") == "true"})
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// typeName names a TOML value's type.
func typeName(raw any) string {
	switch raw.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	}
	return describe(raw)
}

// describe names a TOML value's type for a problem, with short scalars shown.
func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		if len(v) > 40 {
			return "a string"
		}
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case time.Time:
		return "a datetime"
	case map[string]any:
		return "a table"
	case nil:
		return "nothing"
	}
	if reflect.ValueOf(raw).Kind() == reflect.Slice {
		return "an array"
	}
	return fmt.Sprintf("%T", raw)
}
