package modules

import (
	"fmt"
	"os"
	"path/filepath"
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

// environ returns the daemon's environment plus the SUPERBOT_* variables,
// the type's own (Flask debug, unbuffered Python) and the module's env.
func environ(name string, m ModuleConfig, d Deps) []string {
	env := os.Environ()
	add := func(k, v string) { env = append(env, k+"="+v) }
	add(EnvModule, name)
	add(EnvSocket, d.SocketPath)
	add(EnvTokenPath, d.TokenPath)
	add(EnvNode, d.Node)
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
