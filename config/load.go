// Package config loads, validates and compares the superbotd configuration.
//
// A configuration is TOML: the embedded defaults (defaults.toml, which is
// also the reference of every key) overlaid by the user's files. Decoding is
// strict (unknown keys, wrong types and integer durations are errors) and
// every problem is reported at once, each with its key path and, where the
// parser knows it, file:line. Every section is owned by the package of the
// component it configures (actors/edge, actors/bus, ...); this package only
// composes them.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed defaults/defaults.toml
var defaultsTOML []byte

// embeddedName names the embedded defaults in problems and in Source.
const embeddedName = "embedded defaults"

// userDir is the overlay directory used when Load gets no path.
const userDir = "config"

// meta records where a loaded Config came from.
type meta struct {
	source  string
	origins map[string]origin
}

// origin is where a key was last set.
type origin struct {
	file  string
	line  int
	table bool
}

// fileTree is one parsed TOML file.
type fileTree struct {
	name  string
	tree  map[string]any
	lines map[string]int // dotted key path → line
}

// Load reads the configuration at path over the embedded defaults.
//
// path is a TOML file or a directory whose *.toml files (sorted by name,
// hidden files skipped) are merged; a key defined in two of them is an error naming both. With an
// empty path, Load uses the directory ./config when it exists. Files
// override the embedded defaults, and environment variables
// (SUPERBOT_DAEMON_IPC_AUTH_TOKEN, ...) override secret keys. Daemon.Node
// defaults to the host name.
//
// A bad configuration returns a *Problems listing everything wrong; a path
// that cannot be read returns an error wrapping the os error.
func Load(path string) (*Config, error) {
	embedded, probs := parseFile(embeddedName, defaultsTOML)
	if len(probs) > 0 { // a broken build, caught by the tests
		return nil, &Problems{List: probs}
	}
	layers := [][]*fileTree{{embedded}}
	source := embeddedName

	files, label, err := userFiles(path)
	if err != nil {
		return nil, err
	}
	var all Problems
	if label != "" {
		var layer []*fileTree
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("read config: %w", err)
			}
			ft, probs := parseFile(name, data)
			all.List = append(all.List, probs...)
			if ft != nil {
				layer = append(layer, ft)
			}
		}
		layers = append(layers, layer)
		source += " + " + label
	}
	cfg, envNames, probs := build(layers)
	all.List = append(all.List, probs...)
	if err := all.err(); err != nil {
		sortProblems(all.List)
		return nil, err
	}
	if len(envNames) > 0 {
		source += " + env " + strings.Join(envNames, ", ")
	}
	cfg.meta.source = source
	return cfg, nil
}

// userFiles lists the files to overlay on the defaults and a label for
// Source; an empty label means there is nothing to overlay.
func userFiles(path string) ([]string, string, error) {
	display := path
	if path == "" {
		st, err := os.Stat(userDir)
		if err != nil || !st.IsDir() {
			return nil, "", nil
		}
		path, display = userDir, "./"+userDir
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("open config: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, display, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", fmt.Errorf("list config dir: %w", err)
	}
	var files []string // sorted: ReadDir sorts by name
	for _, e := range entries {
		// Hidden files are editor droppings (.#a.toml), not config.
		if name := e.Name(); strings.HasSuffix(name, ".toml") && !strings.HasPrefix(name, ".") && !e.IsDir() {
			files = append(files, filepath.Join(path, name))
		}
	}
	if len(files) == 0 && display == "./"+userDir {
		return nil, "", nil // ./config without *.toml (e.g. this repository's own config/ package)
	}
	plural := "s"
	if len(files) == 1 {
		plural = ""
	}
	return files, fmt.Sprintf("%s (%d file%s)", display, len(files), plural), nil
}

// build merges the layers (each overrides the ones before it; files inside a
// layer must not overlap), decodes the result over Default, applies
// environment secrets, resolves the node name and validates every section.
// It returns the names of the environment variables it used.
func build(layers [][]*fileTree) (*Config, []string, []Problem) {
	var probs Problems
	merged := map[string]any{}
	origins := map[string]origin{}
	for _, layer := range layers {
		inLayer := map[string]origin{}
		for _, ft := range layer {
			mergeTree(merged, ft.tree, "", ft, origins, inLayer, &probs)
		}
	}
	where := func(key string) (string, int) {
		for k := key; k != ""; k = parentKey(k) {
			if o, ok := origins[k]; ok {
				if o.file == embeddedName {
					return "", 0 // a default: its line in an unseen file is noise
				}
				return o.file, o.line
			}
		}
		return "", 0
	}
	cfg := Default()
	d := decoder{probs: &probs, where: where}
	d.decode(reflect.ValueOf(cfg).Elem(), merged, "")

	envNames := applyEnvSecrets(cfg, origins, &probs)
	if cfg.Daemon.Node == "" {
		host, err := os.Hostname()
		if err != nil {
			probs.add(Problem{Key: "daemon.node", Msg: fmt.Sprintf("empty and the host name is unknown: %v", err)})
		}
		cfg.Daemon.Node = host
	}
	validate(reflect.ValueOf(cfg).Elem(), "", func(key, msg string) {
		file, line := where(key)
		probs.add(Problem{Key: key, File: file, Line: line, Msg: msg})
	})
	scrubSecrets(cfg, probs.List)
	cfg.meta = &meta{origins: origins}
	return cfg, envNames, probs.List
}

// scrubSecrets replaces the value of every set secret in problem messages
// (a section's Validate may quote a value).
func scrubSecrets(cfg *Config, list []Problem) {
	var secrets []string
	rewriteSecrets(reflect.ValueOf(cfg).Elem(), "", func(_ string, leaf reflect.Value) {
		if leaf.Kind() == reflect.String && leaf.Len() > 0 {
			secrets = append(secrets, leaf.String())
		}
	})
	for i := range list {
		for _, s := range secrets {
			list[i].Msg = strings.ReplaceAll(list[i].Msg, s, RedactedValue)
		}
	}
}

// parseFile parses one TOML file into a tree and the line of every key.
func parseFile(name string, data []byte) (*fileTree, []Problem) {
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		p := Problem{File: name, Msg: "invalid TOML: " + err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.Line, p.Msg = pe.Position.Line, "invalid TOML: "+pe.Message
		}
		return nil, []Problem{p}
	}
	ft := &fileTree{name: name, tree: make(map[string]any, len(top)), lines: map[string]int{}}
	for k, prim := range top {
		var v any
		if err := md.PrimitiveDecode(prim, &v); err != nil {
			return nil, []Problem{{Key: k, File: name, Msg: "invalid TOML: " + err.Error()}}
		}
		ft.tree[k] = v
		indexLines(&md, prim, k, ft.lines)
	}
	return ft, nil
}

// posProbe fails on purpose so that the decoder reports the position of the
// key being decoded (MetaData keeps key positions private).
type posProbe struct{}

var errProbe = errors.New("position probe")

// UnmarshalTOML implements toml.Unmarshaler.
func (posProbe) UnmarshalTOML(any) error { return errProbe }

// indexLines records the line of key path and of every key under it. A table
// created implicitly by a dotted key gets the line of its first child.
func indexLines(md *toml.MetaData, prim toml.Primitive, path string, lines map[string]int) int {
	own := 0
	var pe toml.ParseError
	if err := md.PrimitiveDecode(prim, &posProbe{}); errors.As(err, &pe) {
		own = pe.Position.Line
	}
	first := 0
	var sub map[string]toml.Primitive
	if err := md.PrimitiveDecode(prim, &sub); err == nil {
		for k, p := range sub {
			if l := indexLines(md, p, path+"."+k, lines); l > 0 && (first == 0 || l < first) {
				first = l
			}
		}
	}
	if own == 0 {
		own = first
	}
	if own > 0 {
		lines[path] = own
	}
	return own
}

// mergeTree merges src (from ft) into dst. Keys of a later layer override
// earlier ones; two files of the same layer may share tables but not keys.
func mergeTree(dst, src map[string]any, prefix string, ft *fileTree, origins, inLayer map[string]origin, probs *Problems) {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := joinKey(prefix, k)
		v := src[k]
		sub, isTable := v.(map[string]any)
		here := origin{file: ft.name, line: ft.lines[path], table: isTable}
		if prev, ok := inLayer[path]; ok && prev.file != ft.name && !(prev.table && isTable) {
			probs.add(Problem{Key: path, File: ft.name, Line: here.line,
				Msg: "also defined in " + location(prev)})
			continue
		}
		if _, ok := inLayer[path]; !ok {
			inLayer[path] = here
		}
		origins[path] = here
		if !isTable {
			dst[k] = v
			continue
		}
		d, ok := dst[k].(map[string]any)
		if !ok {
			d = map[string]any{}
			dst[k] = d
		}
		mergeTree(d, sub, path, ft, origins, inLayer, probs)
	}
}

func location(o origin) string {
	if o.line > 0 {
		return fmt.Sprintf("%s:%d", o.file, o.line)
	}
	return o.file
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func parentKey(k string) string {
	if i := strings.LastIndexAny(k, ".["); i >= 0 {
		return k[:i]
	}
	return ""
}

// sortProblems orders problems by file and line; problems without a file
// (Go defaults, validation of the whole) keep their order at the end.
func sortProblems(list []Problem) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if (a.File == "") != (b.File == "") {
			return b.File == ""
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// Source describes where the configuration came from, e.g.
// "embedded defaults + ./config (2 files) + env SUPERBOT_DAEMON_IPC_AUTH_TOKEN".
func (c *Config) Source() string {
	if c.meta == nil {
		return "built-in defaults"
	}
	return c.meta.source
}
