package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// With returns a deep copy of c in which the value at each key comes from
// next: what a reload has put into effect. Keys are those Diff returns (a
// section, a map entry, or one of this package's tables, of which only the
// own keys are taken, as Diff compares them) or any leaf key path
// ("daemon.shutdown_timeout"). A map entry that next lacks is removed. c is
// not changed; the copy describes itself as next does (Source).
func (c *Config) With(next *Config, keys []string) (*Config, error) {
	out := deepCopy(reflect.ValueOf(c).Elem())
	src := reflect.ValueOf(next).Elem()
	for _, key := range keys {
		if key == "" {
			return nil, fmt.Errorf("with %q: %w", key, ErrUnknownKey)
		}
		if err := copyAt(out, src, strings.Split(key, ".")); err != nil {
			return nil, fmt.Errorf("with %q: %w", key, err)
		}
	}
	res := out.Addr().Interface().(*Config)
	res.meta = next.meta
	return res, nil
}

// copyAt sets dst's value at the path segs from src's (both settable
// values of the same type).
func copyAt(dst, src reflect.Value, segs []string) error {
	if len(segs) == 0 {
		copyOwn(dst, src)
		return nil
	}
	switch dst.Kind() {
	case reflect.Struct:
		for _, f := range structFields(dst.Type()) {
			if f.name == segs[0] {
				return copyAt(dst.FieldByIndex(f.index), src.FieldByIndex(f.index), segs[1:])
			}
		}
	case reflect.Map:
		if dst.Type().Key().Kind() != reflect.String {
			break
		}
		mk := reflect.ValueOf(segs[0]).Convert(dst.Type().Key())
		se := src.MapIndex(mk)
		if dst.IsNil() {
			dst.Set(reflect.MakeMap(dst.Type()))
		}
		switch {
		case !se.IsValid() && len(segs) == 1:
			dst.SetMapIndex(mk, reflect.Value{}) // removed
			return nil
		case !se.IsValid():
			return ErrUnknownKey
		case len(segs) == 1 || !dst.MapIndex(mk).IsValid():
			dst.SetMapIndex(mk, deepCopy(se))
			return nil
		}
		elem := deepCopy(dst.MapIndex(mk))
		sv := reflect.New(se.Type()).Elem()
		sv.Set(se)
		if err := copyAt(elem, sv, segs[1:]); err != nil {
			return err
		}
		dst.SetMapIndex(mk, elem)
		return nil
	}
	return ErrUnknownKey
}

// copyOwn copies src into dst; of this package's own tables only the own
// keys (not the sections under them), as Diff reports them.
func copyOwn(dst, src reflect.Value) {
	if dst.Kind() != reflect.Struct || dst.Type().PkgPath() != ownPkg {
		dst.Set(deepCopy(src))
		return
	}
	for _, f := range structFields(dst.Type()) {
		fv := src.FieldByIndex(f.index)
		if (fv.Kind() == reflect.Struct && fv.Type() != timeType) || isSectionMap(fv.Type()) {
			continue
		}
		dst.FieldByIndex(f.index).Set(deepCopy(fv))
	}
}

// Value returns the value at a dotted key path as the TOML files write it,
// made of JSON types: a table is a map[string]any by TOML names, a list
// []any, a duration a string such as "30s", a number float64, and the
// rest strings and booleans. An empty key returns the whole configuration.
// Secrets come back as "<redacted>" (unset ones as ""). A path outside the
// schema is an error wrapping ErrUnknownKey that names the keys known
// where the path left the schema.
func (c *Config) Value(key string) (any, error) {
	if key == "" {
		return plain(reflect.ValueOf(c.Redacted()).Elem()), nil
	}
	v, err := c.Get(key)
	if err == nil {
		return plain(reflect.ValueOf(v)), nil
	}
	// Say where the path left the schema, and what is there.
	known, at := "", ""
	for parent := parentKey(key); ; parent = parentKey(parent) {
		var pv any
		if parent == "" {
			pv = plain(reflect.ValueOf(c.Redacted()).Elem())
		} else if g, gerr := c.Get(parent); gerr == nil {
			pv = plain(reflect.ValueOf(g))
		} else {
			continue
		}
		at = parent
		if m, ok := pv.(map[string]any); ok {
			names := make([]string, 0, len(m))
			for k := range m {
				names = append(names, k)
			}
			sort.Strings(names)
			known = strings.Join(names, ", ")
		}
		break
	}
	switch {
	case known == "" && at != "":
		return nil, unknownKeyError(fmt.Sprintf("unknown key %q: %s is a value, not a table", key, at))
	case at == "":
		return nil, unknownKeyError(fmt.Sprintf("unknown key %q (top-level tables: %s)", key, known))
	}
	return nil, unknownKeyError(fmt.Sprintf("unknown key %q (%s has: %s)", key, at, known))
}

// unknownKeyError is Value's error: a message for people that is
// ErrUnknownKey for errors.Is.
type unknownKeyError string

func (e unknownKeyError) Error() string { return string(e) }

func (e unknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// plain converts a config value into JSON types (see Value).
func plain(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	switch {
	case t == durationType:
		return formatDuration(time.Duration(v.Int()))
	case t == timeType:
		return v.Interface().(time.Time).Format(time.RFC3339Nano)
	case t.Implements(reflect.TypeFor[encoding.TextMarshaler]()) && t.Kind() != reflect.Struct:
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return nil
		}
		return string(b)
	}
	switch v.Kind() {
	case reflect.Struct:
		if tm, ok := v.Interface().(encoding.TextMarshaler); ok {
			if b, err := tm.MarshalText(); err == nil {
				return string(b)
			}
		}
		out := map[string]any{}
		for _, f := range structFields(t) {
			out[f.name] = plain(v.FieldByIndex(f.index))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for _, mk := range sortedMapKeys(v) {
			out[fmt.Sprint(mk.Interface())] = plain(v.MapIndex(mk))
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return fmt.Sprint(v.Interface())
}

// DiffKeys is Diff with each of this package's tables ("daemon",
// "daemon.logging") replaced by its own keys that changed
// ("daemon.shutdown_timeout", "daemon.logging.level"): the keys a reload
// applies one by one.
func DiffKeys(old, new *Config) []string {
	var out []string
	for _, key := range Diff(old, new) {
		a, errA := old.Get(key)
		b, errB := new.Get(key)
		if errA != nil || errB != nil {
			out = append(out, key) // an entry added or removed
			continue
		}
		va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
		if va.Kind() != reflect.Struct || va.Type().PkgPath() != ownPkg {
			out = append(out, key)
			continue
		}
		for _, f := range structFields(va.Type()) {
			fa, fb := va.FieldByIndex(f.index), vb.FieldByIndex(f.index)
			if (fa.Kind() == reflect.Struct && fa.Type() != timeType) || isSectionMap(fa.Type()) {
				continue
			}
			if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
				out = append(out, joinKey(key, f.name))
			}
		}
	}
	sort.Strings(out)
	return out
}

// formatDuration writes d as a config file would: "1h", "5m", "1h30m",
// not Duration.String's "1h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
