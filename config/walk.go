package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
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
	for i, r := range s {
		// Upper case only past the first segment: map keys such as an
		// asset ("paper.balances.USDT"), never a sentence's first word.
		upper := unicode.IsUpper(r) && i > 0 && strings.Contains(s[:i], ".")
		if !(unicode.IsLower(r) || unicode.IsDigit(r) || upper || r == '_' || r == '-' || r == '.' || r == '[' || r == ']') {
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

// listIndex matches a list index in a key path ("accounts[0]").
var listIndex = regexp.MustCompile(`\[[0-9]+\]`)

// matchKey matches a dotted key against a pattern where "*" is one segment
// and "[*]" any list index.
func matchKey(pattern, key string) bool {
	key = listIndex.ReplaceAllString(key, "[*]")
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
	case reflect.Slice:
		for i := range v.Len() {
			fk := key + "[" + strconv.Itoa(i) + "]"
			if isSecret(fk, false) {
				fn(fk, v.Index(i))
				continue
			}
			rewriteSecrets(v.Index(i), fk, fn)
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

// applyEnvSecrets sets every secret from its environment variable and
// returns the names used. A variable that names a config key (it starts
// with SUPERBOT_ and a top-level table, e.g. SUPERBOT_DAEMON_) but is not a
// secret's, or that holds a bad value (empty, control characters), is a
// problem: an override the daemon would otherwise silently ignore.
func applyEnvSecrets(cfg *Config, origins map[string]origin, probs *Problems) []string {
	var used []string
	secrets := map[string]string{} // env name -> key
	rewriteSecrets(reflect.ValueOf(cfg).Elem(), "", func(key string, leaf reflect.Value) {
		if strings.Contains(key, "[") { // a list item's secret has no variable
			return
		}
		name := EnvName(key)
		secrets[name] = key
		val, ok := os.LookupEnv(name)
		switch {
		case !ok:
			return
		case val == "":
			probs.add(Problem{Key: key, File: "env " + name, Msg: "set but empty: give it a value, or unset it to use the files' value"})
			return
		case strings.ContainsFunc(val, unicode.IsControl):
			probs.add(Problem{Key: key, File: "env " + name, Msg: "invalid value (a secret, not shown): it contains control characters such as a newline"})
			return
		case leaf.Kind() != reflect.String:
			probs.add(Problem{Key: key, File: "env " + name, Msg: "only string secrets can come from the environment"})
			return
		}
		leaf.SetString(val)
		origins[key] = origin{file: "env " + name}
		used = append(used, name)
	})
	checkEnvNames(cfg, secrets, probs)
	return used
}

// checkEnvNames reports every SUPERBOT_ variable that looks like a config
// override (its name starts with a top-level table's) but is not a
// secret's: a key that cannot come from the environment, or no key at all.
func checkEnvNames(cfg *Config, secrets map[string]string, probs *Problems) {
	var tables []string
	leaves := map[string]string{} // env name -> key, for every key
	v := reflect.ValueOf(cfg).Elem()
	for _, f := range structFields(v.Type()) {
		tables = append(tables, EnvName(f.name)+"_")
		leafKeys(v.FieldByIndex(f.index), f.name, func(key string) { leaves[EnvName(key)] = key })
	}
	secretNames := make([]string, 0, len(secrets))
	for name := range secrets {
		secretNames = append(secretNames, name)
	}
	sort.Strings(secretNames)
	hint := "only secrets can come from the environment (" + strings.Join(secretNames, ", ") + ")"
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := secrets[name]; ok || !hasAnyPrefix(name, tables) {
			continue
		}
		if key, ok := leaves[name]; ok {
			probs.add(Problem{Key: key, File: "env " + name, Msg: "cannot be set from the environment: " + hint + "; set it in a config file"})
			continue
		}
		probs.add(Problem{File: "env " + name, Msg: "names no config key: " + hint})
	}
}

// leafKeys calls fn with the key path of every value under v that is not a
// table (lists count as values), map entries included.
func leafKeys(v reflect.Value, key string, fn func(key string)) {
	switch {
	case v.Kind() == reflect.Struct && v.Type() != timeType && v.Type() != durationType:
		fields := structFields(v.Type())
		if len(fields) == 0 {
			fn(key)
		}
		for _, f := range fields {
			leafKeys(v.FieldByIndex(f.index), joinKey(key, f.name), fn)
		}
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		for _, mk := range sortedMapKeys(v) {
			leafKeys(v.MapIndex(mk), joinKey(key, mk.String()), fn)
		}
	case v.Kind() == reflect.Pointer && !v.IsNil():
		leafKeys(v.Elem(), key, fn)
	default:
		fn(key)
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
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
