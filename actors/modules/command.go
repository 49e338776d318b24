package modules

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Environment variables every module gets.
const (
	EnvModule    = "SUPERBOT_MODULE"
	EnvSocket    = "SUPERBOT_SOCKET"
	EnvTokenPath = "SUPERBOT_TOKEN_PATH"
	EnvNode      = "SUPERBOT_NODE"
	// EnvDaemon names the daemon instance that started the module
	// ("PID.STARTTICKS"): the module guard finds the module's descendants
	// by it, even those that left the module's process group.
	EnvDaemon = "SUPERBOT_DAEMON"
)

// argv returns the command line of a process module.
func argv(m ModuleConfig) ([]string, error) {
	py := interpreter(m.Python)
	switch m.Type {
	case TypeUvicorn:
		a := []string{py, "-m", "uvicorn", m.App, "--host", m.Host, "--port", strconv.Itoa(m.Port), "--workers", strconv.Itoa(m.Workers)}
		return append(a, m.Args...), nil
	case TypeFlask:
		if m.Debug {
			a := []string{py, "-m", "flask", "run", "--host", m.Host, "--port", strconv.Itoa(m.Port)}
			return append(a, m.Args...), nil
		}
		a := []string{py, "-m", "waitress", "--host=" + m.Host, "--port=" + strconv.Itoa(m.Port)}
		a = append(a, m.Args...)
		return append(a, m.App), nil
	case TypePython:
		return append([]string{py, "-m", m.Module}, m.Args...), nil
	case TypeExec:
		if len(m.Command) == 0 {
			return nil, fmt.Errorf("exec module without a command")
		}
		return append(append([]string(nil), m.Command...), m.Args...), nil
	default:
		return nil, fmt.Errorf("type %q is not a process module", m.Type)
	}
}

// interpreter resolves python: a virtualenv directory means its bin/python3.
func interpreter(p string) string {
	if p == "" {
		return "python3"
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		for _, name := range []string{"python3", "python"} {
			if c := filepath.Join(p, "bin", name); fileExists(c) {
				return c
			}
		}
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// inheritedEnv lists the variables a module inherits from the daemon's
// environment: what a program (a Python app included) needs to find its
// tools, its home and its locale. Everything else the daemon has (the
// connector's keys, the cache's password, SUPERBOT_* settings) stays in the
// daemon; a module gets more only through its own env.
var inheritedEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM"}

// inherited reports whether the daemon's variable key passes to modules:
// inheritedEnv and the locale's LC_*.
func inherited(key string) bool {
	return strings.HasPrefix(key, "LC_") || slices.Contains(inheritedEnv, key)
}

// environ returns a module's environment: the daemon's inheritedEnv, the
// SUPERBOT_* variables (absolute paths), the type's own (Flask debug,
// unbuffered Python) and the module's env, in that order (a later
// definition wins).
func environ(name string, m ModuleConfig, d Deps) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, ok := strings.Cut(kv, "="); ok && inherited(k) {
			env = append(env, kv)
		}
	}
	add := func(k, v string) { env = append(env, k+"="+v) }
	add(EnvModule, name)
	add(EnvSocket, absPath(d.SocketPath))
	add(EnvTokenPath, absPath(d.TokenPath))
	add(EnvNode, d.Node)
	add(EnvDaemon, daemonID())
	switch m.Type {
	case TypeUvicorn, TypeFlask, TypePython:
		add("PYTHONUNBUFFERED", "1")
	}
	if m.Type == TypeFlask && m.Debug {
		add("FLASK_APP", m.App)
		add("FLASK_DEBUG", "1")
	}
	keys := make([]string, 0, len(m.Env))
	for k := range m.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, m.Env[k])
	}
	return env
}

// absPath makes p absolute against the daemon's working directory, so a
// module with its own cwd finds the daemon's files; "" stays "".
func absPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// threadParams turns args ("key=value" or "--key=value") and env into a
// thread module's params.
func threadParams(m ModuleConfig) map[string]string {
	p := map[string]string{}
	for k, v := range m.Env {
		p[strings.ToLower(k)] = v
	}
	for _, a := range m.Args {
		k, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok {
			v = "true"
		}
		p[strings.ToLower(k)] = v
	}
	return p
}

// healthURL is where the module's health is checked, or "".
func healthURL(m ModuleConfig) string {
	ep := m.HealthcheckEndpoint
	if ep == "" || !strings.HasPrefix(ep, "/") {
		return ep
	}
	host := m.Host
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "[::1]"
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + strconv.Itoa(m.Port) + ep
}
