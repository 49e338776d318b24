package modules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
)

func mod(typ string, f func(*ModuleConfig)) ModuleConfig {
	m := DefaultModuleConfig()
	m.Type = typ
	if f != nil {
		f(&m)
	}
	return m
}

func TestConfigValidate(t *testing.T) {
	web := mod(TypeFlask, func(m *ModuleConfig) { m.App = "web:app"; m.Port = 8080 })
	tests := []struct {
		name string
		cfg  Config
		want []string // each a problem, in order
	}{
		{name: "defaults", cfg: DefaultConfig()},
		{name: "good", cfg: Config{
			Modules: map[string]ModuleConfig{
				"web": web,
				"ai":  mod(TypeUvicorn, func(m *ModuleConfig) { m.App = "ai:app"; m.Port = 8000; m.DependsOn = []string{"web"} }),
				"job": mod(TypeExec, func(m *ModuleConfig) { m.Command = []string{"/bin/true"}; m.MaxMemory = "512MiB" }),
				"hb":  mod(TypeThread, nil),
			},
			Autostart: []string{"web", "ai"},
		}},
		{name: "missing fields", cfg: Config{Modules: map[string]ModuleConfig{
			"a": mod(TypeUvicorn, nil),
			"b": mod(TypePython, nil),
			"c": mod(TypeExec, nil),
			"d": mod("docker", nil),
		}}, want: []string{
			`modules.a.app: required for type uvicorn`,
			`modules.a.port: must be 1-65535 for type uvicorn, got 0`,
			`modules.b.module: required for type python`,
			`modules.c.command: required for type exec`,
			`modules.d.type: must be uvicorn, flask, python, exec or thread, got "docker"`,
		}},
		{name: "unknown dependency and autostart", cfg: Config{
			Modules:   map[string]ModuleConfig{"web": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"db"} })},
			Autostart: []string{"web", "nope", "web"},
		}, want: []string{
			`modules.web.depends_on[0]: unknown module "db" (known: web)`,
			`autostart[1]: unknown module "nope" (known: web)`,
			`autostart[2]: module "web" is listed twice`,
		}},
		{name: "cycle", cfg: Config{Modules: map[string]ModuleConfig{
			"a": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"b"} }),
			"b": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"c"} }),
			"c": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"a"} }),
		}}, want: []string{`modules.a.depends_on: dependency cycle: a -> b -> c -> a`}},
		{name: "every cycle", cfg: Config{Modules: map[string]ModuleConfig{
			"a": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"b", "c"} }),
			"b": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"a"} }),
			"c": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"a"} }),
			"d": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"d", "e"} }),
			"e": mod(TypeThread, func(m *ModuleConfig) { m.DependsOn = []string{"d"} }),
		}}, want: []string{
			`modules.a.depends_on: dependency cycle: a -> b -> a`,
			`modules.a.depends_on: dependency cycle: a -> c -> a`,
			`modules.d.depends_on: dependency cycle: d -> d`,
			`modules.d.depends_on: dependency cycle: d -> e -> d`,
		}},
		{name: "duplicate port", cfg: Config{Modules: map[string]ModuleConfig{
			"web":  web,
			"web2": web,
		}}, want: []string{`modules.web2.port: port 8080 is also used by module "web"`}},
		{name: "bad values", cfg: Config{Modules: map[string]ModuleConfig{
			"x": mod(TypeExec, func(m *ModuleConfig) {
				m.Command = []string{"x"}
				m.Restart = "sometimes"
				m.MaxMemory = "lots"
				m.StartPeriod = time.Minute
				m.Backoff = Backoff{Initial: 5 * time.Second, Max: time.Second}
				m.HealthcheckEndpoint = "health"
				m.MaxRestarts, m.Within, m.Cooldown = -1, -time.Second, "soon"
			}),
			"Bad Name": mod(TypeThread, nil),
		}}, want: []string{
			`modules.Bad Name: module names are lower case letters, digits, '-' and '_'`,
			`modules.x.healthcheck_endpoint: must be a path ("/health") or an http(s) URL, got "health"`,
			`modules.x.start_seconds: must be <= start_timeout (30s), got 1m0s`,
			`modules.x.restart: must be always, on-failure or never, got "sometimes"`,
			`modules.x.backoff.max: must be >= backoff.initial (5s), got 1s`,
			`modules.x.max_memory: invalid size "lots"`,
			`modules.x.max_restarts: must be >= 0`,
			`modules.x.within: must be >= 0`,
			`modules.x.cooldown: must be a duration such as "5m", or "never"`,
		}},
		{name: "reserved names", cfg: Config{Modules: map[string]ModuleConfig{
			"all": mod(TypeThread, nil), "daemon": mod(TypeThread, nil),
		}}, want: []string{`modules.all: "all" is reserved`, `modules.daemon: "daemon" is reserved`}},
		{name: "disabled autostart", cfg: Config{
			Modules:   map[string]ModuleConfig{"w": mod(TypeThread, func(m *ModuleConfig) { m.Enabled = false })},
			Autostart: []string{"w"},
		}, want: []string{`autostart[0]: module "w" is disabled`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := map[string]uint64{"512MiB": 512 << 20, "1GB": 1e9, "64k": 64e3, "1048576": 1 << 20, "1.5GiB": 3 << 29, "2 MiB": 2 << 20}
	for in, want := range tests {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "12 parsecs", "1e99TiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q): want an error", in)
		}
	}
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"512MiB", "1GB", "0", "1.5k", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseBytes(s)
		if err == nil && n > 1<<62 {
			t.Fatalf("%q: %d", s, n)
		}
	})
}

func TestArgv(t *testing.T) {
	tests := []struct {
		name string
		m    ModuleConfig
		want string
		env  []string
	}{
		{"uvicorn", mod(TypeUvicorn, func(m *ModuleConfig) { m.App = "ai.app:app"; m.Port = 8000; m.Workers = 2 }),
			"python3 -m uvicorn ai.app:app --host 127.0.0.1 --port 8000 --workers 2", nil},
		{"flask production", mod(TypeFlask, func(m *ModuleConfig) { m.App = "web.app:app"; m.Host = "0.0.0.0"; m.Port = 8080 }),
			"python3 -m waitress --host=0.0.0.0 --port=8080 web.app:app", nil},
		{"flask debug", mod(TypeFlask, func(m *ModuleConfig) { m.App = "web.app:app"; m.Port = 8080; m.Debug = true }),
			"python3 -m flask run --host 127.0.0.1 --port 8080", []string{"FLASK_APP=web.app:app", "FLASK_DEBUG=1"}},
		{"python", mod(TypePython, func(m *ModuleConfig) {
			m.Module = "trading.engine"
			m.Args = []string{"--mode", "paper"}
			m.Python = "/opt/venv/bin/python3"
		}), "/opt/venv/bin/python3 -m trading.engine --mode paper", nil},
		{"exec", mod(TypeExec, func(m *ModuleConfig) { m.Command = []string{"/usr/bin/env", "a b"} }), "/usr/bin/env a b", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := argv(tt.m)
			if err != nil || strings.Join(a, " ") != tt.want {
				t.Fatalf("argv = %q, %v; want %q", a, err, tt.want)
			}
			env := environ("x", tt.m, Deps{SocketPath: "/s", TokenPath: "/t"})
			for _, e := range append(tt.env, "SUPERBOT_MODULE=x", "SUPERBOT_SOCKET=/s", "SUPERBOT_TOKEN_PATH=/t") {
				if !slices.Contains(env, e) {
					t.Errorf("env lacks %s", e)
				}
			}
		})
	}
	if _, err := argv(mod(TypeThread, nil)); err == nil {
		t.Error("argv of a thread module")
	}
}

func TestHealthURL(t *testing.T) {
	for _, tt := range []struct {
		host, ep, want string
	}{
		{"0.0.0.0", "/health", "http://127.0.0.1:8080/health"},
		{"127.0.0.1", "/h", "http://127.0.0.1:8080/h"},
		{"::1", "/h", "http://[::1]:8080/h"},
		{"x", "http://other:1/z", "http://other:1/z"},
		{"x", "", ""},
	} {
		m := mod(TypeFlask, func(m *ModuleConfig) { m.Host = tt.host; m.Port = 8080; m.HealthcheckEndpoint = tt.ep })
		if got := healthURL(m); got != tt.want {
			t.Errorf("healthURL(%s, %s) = %s, want %s", tt.host, tt.ep, got, tt.want)
		}
	}
}

func TestApplyParams(t *testing.T) {
	base := mod(TypeUvicorn, func(m *ModuleConfig) { m.App = "a:app"; m.Port = 8000; m.Env = map[string]string{"A": "1"} })
	p, _ := structpb.NewStruct(map[string]any{"port": 9000, "args": []any{"--x"}, "env": map[string]any{"B": "2"}, "debug": true, "workers": 3})
	got, err := applyParams(base, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != 9000 || got.Workers != 3 || !got.Debug || !slices.Equal(got.Args, []string{"--x"}) || got.Env["A"] != "1" || got.Env["B"] != "2" {
		t.Fatalf("applied: %+v", got)
	}
	if base.Env["B"] != "" {
		t.Fatal("params changed the config")
	}
	bad, _ := structpb.NewStruct(map[string]any{"mode": "paper", "port": "x", "type": "exec"})
	_, err = applyParams(base, bad)
	for _, want := range []string{
		"params.mode: cannot be overridden (allowed: args, debug, env, host, port, workers)",
		"params.port: must be a whole number",
		"params.type: cannot be overridden",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// TestApplyParamsThread: a thread module takes the seed's own params
// (module.start trading {"mode": "paper"}) as "key=value" args, after any
// args given; other module types still refuse them.
func TestApplyParamsThread(t *testing.T) {
	base := mod(TypeThread, func(m *ModuleConfig) { m.Args = []string{"a=1"} })
	p, _ := structpb.NewStruct(map[string]any{"mode": "paper", "args": []any{"b=2"}, "size": 1.5, "dry": true})
	got, err := applyParams(base, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b=2", "dry=true", "mode=paper", "size=1.5"}; !slices.Equal(got.Args, want) {
		t.Fatalf("args %q, want %q", got.Args, want)
	}
	if tp := threadParams(got); tp["mode"] != "paper" || tp["b"] != "2" {
		t.Fatalf("thread params %v", tp)
	}
	if !slices.Equal(base.Args, []string{"a=1"}) {
		t.Fatal("params changed the config")
	}
	bad, _ := structpb.NewStruct(map[string]any{"Mode": "x", "list": []any{"x"}})
	_, err = applyParams(base, bad)
	for _, want := range []string{"params.Mode: a thread module's param must be named", "params.list: must be a string, a number or a boolean"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 500 * time.Millisecond, Max: 10 * time.Second}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := backoffDelay(b, i+1); got != w {
			t.Errorf("failure %d: %s, want %s", i+1, got, w)
		}
	}
	if got := backoffDelay(Backoff{Max: time.Second}, 3); got != 0 {
		t.Errorf("zero initial: %s", got)
	}
}

func TestTopoOrder(t *testing.T) {
	mods := map[string]ModuleConfig{
		"web":   {DependsOn: []string{"api", "cache"}},
		"api":   {DependsOn: []string{"db"}},
		"db":    {},
		"cache": {},
	}
	got := topoOrder(mods)
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	for n, m := range mods {
		for _, d := range m.DependsOn {
			if pos[d] > pos[n] {
				t.Errorf("%s before its dependency %s: %v", n, d, got)
			}
		}
	}
}
