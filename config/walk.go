package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"unicode"
)

// ErrUnknownKey is returned by Get for a key path that is not in the schema.
var ErrUnknownKey = errors.New("unknown key")

// RedactedValue replaces a set secret in Redacted copies and in Get.
const RedactedValue = "<redacted>"

// EnvPrefix starts the environment variable of a secret key: the key path
// upper-cased with dots as underscores, e.g. SUPERBOT_DAEMON_IPC_AUTH_TOKEN.
const EnvPrefix = "SUPERBOT_"

// ownPkg is this package's import path: its structs are compositions that
// the walks descend into; other packages' sections are handled whole.
var ownPkg = reflect.TypeFor[Config]().PkgPath()

type validator interface{ Validate() error }

// validate calls Validate on every section under v (struct values and map
// entries, at any depth under this package's own structs) and reports each
// problem with the section's key path in front. A section owned by another
// package validates its whole subtree itself.
func validate(v reflect.Value, key string, report func(key, msg string)) {
	if val, ok := v.Interface().(validator); ok {
		for _, err := range flatten(val.Validate()) {
			k, msg := splitProblem(key, err.Error())
			report(k, msg)
		}
	}
	if v.Type().PkgPath() != ownPkg || v.Kind() != reflect.Struct {
		return
	}
	for _, f := range structFields(v.Type()) {
		fv := v.FieldByIndex(f.index)
		fk := joinKey(key, f.name)
		switch {
		case fv.Kind() == reflect.Struct:
			validate(fv, fk, report)
		case fv.Kind() == reflect.Map && fv.Type().Key().Kind() == reflect.String:
			iter := sortedMapKeys(fv)
			for _, mk := range iter {
				validate(fv.MapIndex(mk), joinKey(fk, mk.String()), report)
			}
		case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
			validate(fv.Elem(), fk, report)
		}
	}
}

// flatten splits an errors.Join tree into its leaves.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// splitProblem turns a section's "max_connections: must be >= 1" into the
// key "daemon.ipc.max_connections" and the message "must be >= 1". A message
// without a leading key stays on the section's key.
func splitProblem(section, msg string) (string, string) {
	if k, rest, ok := strings.Cut(msg, ": "); ok && isKeyPath(k) {
		return joinKey(section, k), rest
	}
	return section, msg
}

func isKeyPath(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLower(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.' || r == '[' || r == ']') {
			return false
		}
	}
	return true
}

// isSecret reports whether the leaf at key is a secret: tagged
// `secret:"true"` or listed in secretPaths.
func isSecret(key string, tagged bool) bool {
	if tagged {
		return true
	}
	for _, p := range secretPaths {
		if matchKey(p, key) {
			return true
		}
	}
	return false
}

// matchKey matches a dotted key against a pattern where "*" is one segment.
func matchKey(pattern, key string) bool {
	ps, ks := strings.Split(pattern, "."), strings.Split(key, ".")
	if len(ps) != len(ks) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != ks[i] {
			return false
		}
	}
	return true
}

// rewriteSecrets calls fn on every secret leaf under v (which must be
// settable), at any depth, writing map entries back after fn ran.
func rewriteSecrets(v reflect.Value, key string, fn func(key string, leaf reflect.Value)) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for _, f := range structFields(v.Type()) {
			fv := v.FieldByIndex(f.index)
			fk := joinKey(key, f.name)
			if isSecret(fk, f.secret) {
				fn(fk, fv)
				continue
			}
			rewriteSecrets(fv, fk, fn)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			rewriteSecrets(v.Elem(), key, fn)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for _, mk := range sortedMapKeys(v) {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(mk))
			fk := joinKey(key, mk.String())
			if isSecret(fk, false) {
				fn(fk, elem)
			} else {
				rewriteSecrets(elem, fk, fn)
			}
			v.SetMapIndex(mk, elem)
		}
	}
}

// EnvName returns the environment variable that overrides the secret key,
// e.g. SUPERBOT_DAEMON_IPC_AUTH_TOKEN for daemon.ipc.auth_token.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// applyEnvSecrets sets every secret from its environment variable, when that
// is set and not empty, and returns the names used.
func applyEnvSecrets(cfg *Config, origins map[string]origin, probs *Problems) []string {
	var used []string
	rewriteSecrets(reflect.ValueOf(cfg).Elem(), "", func(key string, leaf reflect.Value) {
		name := EnvName(key)
		val, ok := os.LookupEnv(name)
		if !ok || val == "" {
			return
		}
		if leaf.Kind() != reflect.String {
			probs.add(Problem{Key: key, File: "env " + name, Msg: "only string secrets can come from the environment"})
			return
		}
		leaf.SetString(val)
		origins[key] = origin{file: "env " + name}
		used = append(used, name)
	})
	return used
}

// Redacted returns a deep copy of c with every set secret replaced by
// "<redacted>" (non-string secrets are zeroed). Use it for anything that
// displays or logs a configuration.
func (c *Config) Redacted() *Config {
	out := deepCopy(reflect.ValueOf(c).Elem()).Addr().Interface().(*Config)
	rewriteSecrets(reflect.ValueOf(out).Elem(), "", func(_ string, leaf reflect.Value) {
		switch {
		case leaf.IsZero():
		case leaf.Kind() == reflect.String:
			leaf.SetString(RedactedValue)
		default:
			leaf.SetZero()
		}
	})
	return out
}

// deepCopy returns a settable deep copy of v: maps, slices and pointers
// under exported fields are copied, not shared.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Struct:
		out.Set(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
	case reflect.Map:
		if v.IsNil() {
			return out
		}
		out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
		iter := v.MapRange()
		for iter.Next() {
			out.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
	case reflect.Slice:
		if v.IsNil() {
			return out
		}
		out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
		for i := range v.Len() {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
	case reflect.Pointer:
		if v.IsNil() {
			return out
		}
		out.Set(deepCopy(v.Elem()).Addr())
	case reflect.Interface:
		if !v.IsNil() {
			out.Set(deepCopy(v.Elem()))
		}
	default:
		out.Set(v)
	}
	return out
}

// Get returns the value at a dotted key path, by toml names:
// Get("daemon.ipc.socket_path") is a string, Get("daemon.ipc") an
// edge.Config. Secrets come back as "<redacted>"; a path outside the schema
// is an error wrapping ErrUnknownKey.
func (c *Config) Get(key string) (any, error) {
	v := reflect.ValueOf(c.Redacted()).Elem()
	if key == "" {
		return nil, fmt.Errorf("get %q: %w", key, ErrUnknownKey)
	}
	for _, seg := range strings.Split(key, ".") {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return nil, fmt.Errorf("get %q: %w", key, ErrUnknownKey)
			}
			v = v.Elem()
		}
		next := reflect.Value{}
		switch v.Kind() {
		case reflect.Struct:
			for _, f := range structFields(v.Type()) {
				if f.name == seg {
					next = v.FieldByIndex(f.index)
					break
				}
			}
		case reflect.Map:
			if v.Type().Key().Kind() == reflect.String {
				next = v.MapIndex(reflect.ValueOf(seg).Convert(v.Type().Key()))
			}
		}
		if !next.IsValid() {
			return nil, fmt.Errorf("get %q: %w", key, ErrUnknownKey)
		}
		v = next
	}
	return v.Interface(), nil
}

// Diff lists the key paths of the sections that differ between two
// configurations, sorted: a section owned by another package (e.g.
// "daemon.ipc"), an entry of a map section (e.g. "daemon.modules.ai", also
// when added or removed), or one of this package's tables whose own keys
// changed (e.g. "daemon.logging", "daemon" for daemon.shutdown_timeout).
// A nil Config compares as the zero Config.
func Diff(old, new *Config) []string {
	if old == nil {
		old = &Config{}
	}
	if new == nil {
		new = &Config{}
	}
	var out []string
	diffSection(reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem(), "", &out)
	sort.Strings(out)
	return out
}

func diffSection(a, b reflect.Value, key string, out *[]string) {
	if a.Type().PkgPath() != ownPkg || a.Kind() != reflect.Struct {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, key)
		}
		return
	}
	ownChanged := false
	for _, f := range structFields(a.Type()) {
		fa, fb := a.FieldByIndex(f.index), b.FieldByIndex(f.index)
		fk := joinKey(key, f.name)
		switch {
		case fa.Kind() == reflect.Struct && fa.Type() != timeType:
			diffSection(fa, fb, fk, out)
		case isSectionMap(fa.Type()):
			keys := map[string]reflect.Value{}
			for _, mk := range append(sortedMapKeys(fa), sortedMapKeys(fb)...) {
				keys[mk.String()] = mk
			}
			for name, mk := range keys {
				ea, eb := fa.MapIndex(mk), fb.MapIndex(mk)
				switch {
				case ea.IsValid() && eb.IsValid():
					diffSection(ea, eb, joinKey(fk, name), out)
				default:
					*out = append(*out, joinKey(fk, name))
				}
			}
		default:
			if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
				ownChanged = true
			}
		}
	}
	if ownChanged && key != "" {
		*out = append(*out, key)
	}
}

// isSectionMap reports whether t is a map of string to struct: each entry
// is a section of its own (daemon.modules.NAME).
func isSectionMap(t reflect.Type) bool {
	return t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.Struct
}

func sortedMapKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}
