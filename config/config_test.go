package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/edge"
)

// writeFiles writes name → content into a fresh directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("want *Problems, got %T: %v", err, err)
	}
	out := make([]string, len(p.List))
	for i, pr := range p.List {
		out[i] = pr.String()
	}
	return out
}

func TestDefaultsTOMLMatchesGoDefaults(t *testing.T) {
	ft, probs := parseFile(embeddedName, defaultsTOML)
	if len(probs) > 0 {
		t.Fatalf("defaults.toml: %v", probs)
	}
	var got Config
	var p Problems
	d := decoder{probs: &p, where: func(string) (string, int) { return "", 0 }}
	d.decode(reflect.ValueOf(&got).Elem(), ft.tree, "")
	if len(p.List) > 0 {
		t.Fatalf("decode defaults.toml: %v", p.Error())
	}
	if want := Default(); !reflect.DeepEqual(&got, want) {
		t.Errorf("defaults.toml differs from Default():\n got %+v\nwant %+v", got, *want)
	}

	// Every key of the schema is in defaults.toml, with a comment above it.
	lines := strings.Split(string(defaultsTOML), "\n")
	for _, key := range schemaLeaves(reflect.TypeFor[Config](), "") {
		n, ok := ft.lines[key]
		if !ok {
			t.Errorf("%s: missing from defaults.toml", key)
			continue
		}
		if n < 2 || !strings.HasPrefix(strings.TrimSpace(lines[n-2]), "#") {
			t.Errorf("%s: no comment above it in defaults.toml (line %d)", key, n)
		}
	}
}

// schemaLeaves lists the key paths of every leaf under t (map sections have
// no fixed keys and are skipped).
func schemaLeaves(t reflect.Type, prefix string) []string {
	var out []string
	for _, f := range structFields(t) {
		ft := t.FieldByIndex(f.index).Type
		key := joinKey(prefix, f.name)
		switch {
		case ft.Kind() == reflect.Struct && ft != timeType:
			out = append(out, schemaLeaves(ft, key)...)
		case isSectionMap(ft):
		default:
			out = append(out, key)
		}
	}
	return out
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // each problem, in order; "F" stands for the file path
	}{
		{
			name:  "malformed TOML",
			files: map[string]string{"a.toml": "[daemon]\nstate_dir = \"x\"\nlog_dir = = 3\n"},
			want:  []string{"invalid TOML: expected value but found '=' instead (F/a.toml:3)"},
		},
		{
			name:  "unknown key",
			files: map[string]string{"a.toml": "[daemon.ipc]\nsocket_path = \"/tmp/s\"\nsokcet_path = \"/tmp/s\"\n"},
			want:  []string{"daemon.ipc.sokcet_path: unknown key (F/a.toml:3)"},
		},
		{
			name:  "unknown section",
			files: map[string]string{"a.toml": "[deamon]\nnode = \"n1\"\n"},
			want:  []string{"deamon: unknown key (F/a.toml:1)"},
		},
		{
			name:  "wrong type",
			files: map[string]string{"a.toml": "[daemon.ipc]\nmax_connections = \"many\"\n"},
			want:  []string{`daemon.ipc.max_connections: expected an integer, got string "many" (F/a.toml:2)`},
		},
		{
			name:  "table where a value belongs",
			files: map[string]string{"a.toml": "[daemon.node]\nname = \"x\"\n"},
			want:  []string{"daemon.node: expected a string, got a table (F/a.toml:1)"},
		},
		{
			name:  "bad duration",
			files: map[string]string{"a.toml": "[daemon]\nshutdown_timeout = \"10 parsecs\"\n"},
			want:  []string{`daemon.shutdown_timeout: invalid duration "10 parsecs": use a number and a unit, such as "30s" or "1m30s" (F/a.toml:2)`},
		},
		{
			name:  "integer duration",
			files: map[string]string{"a.toml": "[daemon.supervisor]\nwithin = 60\n"},
			want:  []string{`daemon.supervisor.within: expected a duration string such as "30s", got integer 60 (F/a.toml:2)`},
		},
		{
			name:  "section validation",
			files: map[string]string{"a.toml": "[daemon.ipc]\nmax_connections = 0\n"},
			want:  []string{"daemon.ipc.max_connections: must be >= 1, got 0 (F/a.toml:2)"},
		},
		{
			name:  "dotted keys",
			files: map[string]string{"a.toml": "daemon.logging.level = \"loud\"\n"},
			want:  []string{`daemon.logging.level: must be debug, info, warn or error, got "loud" (F/a.toml:1)`},
		},
		{
			name:  "a secret's value is never shown",
			files: map[string]string{"a.toml": "[daemon.ipc]\nauth_token = 12345678\n"},
			want:  []string{"daemon.ipc.auth_token: expected a string, got an integer (a secret, value not shown) (F/a.toml:2)"},
		},
		{
			name:  "problem with a default value has no file",
			files: map[string]string{"a.toml": "[daemon.bus]\nqueue_size = 100000\n"},
			want:  []string{"daemon.bus.max_queue_size: must be >= queue_size (100000), got 65536"},
		},
		{
			name: "duplicate key across two files",
			files: map[string]string{
				"a.toml": "[daemon]\nlog_dir = \"/var/log/a\"\n",
				"b.toml": "[daemon]\nstate_dir = \"/srv\"\n\nlog_dir = \"/var/log/b\"\n",
			},
			want: []string{"daemon.log_dir: also defined in F/a.toml:2 (F/b.toml:4)"},
		},
		{
			name: "every problem at once",
			files: map[string]string{
				"a.toml": strings.Join([]string{
					"[daemon]",
					"shutdown_timeout = 5",
					"bogus = true",
					"[daemon.ipc]",
					"max_connections = 0",
					"idle_timeout = \"soon\"",
					"[daemon.bus]",
					"queue_size = 10",
					"max_queue_size = 5",
					"[daemon.logging]",
					"format = \"xml\"",
				}, "\n"),
				"b.toml": "[daemon.supervisor]\nmax_restarts = 1.5\n",
				"c.toml": "this is not toml\n",
			},
			want: []string{
				`daemon.shutdown_timeout: expected a duration string such as "30s", got integer 5 (F/a.toml:2)`,
				"daemon.bogus: unknown key (F/a.toml:3)",
				"daemon.ipc.max_connections: must be >= 1, got 0 (F/a.toml:5)",
				`daemon.ipc.idle_timeout: invalid duration "soon": use a number and a unit, such as "30s" or "1m30s" (F/a.toml:6)`,
				"daemon.bus.max_queue_size: must be >= queue_size (10), got 5 (F/a.toml:9)",
				`daemon.logging.format: must be console or json, got "xml" (F/a.toml:11)`,
				"daemon.supervisor.max_restarts: expected an integer, got float 1.5 (F/b.toml:2)",
				"invalid TOML: expected '.' or '=', but got 'i' instead (F/c.toml:1)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			_, err := Load(dir)
			got := problemsOf(t, err)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.ReplaceAll(w, "F/", dir+"/")
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestLoadSources(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cwdFiles   map[string]string // written to ./config under a fresh working directory
		path       func(t *testing.T) string
		wantSource string
		check      func(t *testing.T, c *Config)
	}{
		{
			name:       "embedded defaults only",
			path:       func(*testing.T) string { return "" },
			wantSource: "embedded defaults",
			check: func(t *testing.T, c *Config) {
				want := Default()
				want.Daemon.Node = host
				c.meta = nil
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v, want %+v", c, want)
				}
			},
		},
		{
			name: "./config overlays the defaults",
			cwdFiles: map[string]string{
				"ipc.toml":    "[daemon.ipc]\nmax_connections = 7\n",
				"daemon.toml": "[daemon]\nnode = \"n1\"\nshutdown_timeout = \"1m\"\n",
				"notes.txt":   "not toml, ignored",
				".#ipc.toml":  "an editor's lock file, ignored",
			},
			path:       func(*testing.T) string { return "" },
			wantSource: "embedded defaults + ./config (2 files)",
			check: func(t *testing.T, c *Config) {
				if c.Daemon.IPC.MaxConnections != 7 || c.Daemon.Node != "n1" || c.Daemon.ShutdownTimeout != time.Minute {
					t.Errorf("overlay not applied: %+v", c.Daemon)
				}
				if c.Daemon.IPC.MaxRequestBytes != edge.DefaultConfig().MaxRequestBytes {
					t.Errorf("default lost: max_request_bytes = %d", c.Daemon.IPC.MaxRequestBytes)
				}
			},
		},
		{
			name: "a given file",
			path: func(t *testing.T) string {
				return filepath.Join(writeFiles(t, map[string]string{"s.toml": "[daemon.logging]\nlevel = \"debug\"\n"}), "s.toml")
			},
			wantSource: "embedded defaults + {path}",
			check: func(t *testing.T, c *Config) {
				if c.Daemon.Logging.Level != "debug" || c.Daemon.Logging.Format != "console" {
					t.Errorf("logging = %+v", c.Daemon.Logging)
				}
			},
		},
		{
			name:       "an empty directory",
			path:       func(t *testing.T) string { return t.TempDir() },
			wantSource: "embedded defaults + {path} (0 files)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wd := t.TempDir()
			if tt.cwdFiles != nil {
				dir := filepath.Join(wd, "config")
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				for name, content := range tt.cwdFiles {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Chdir(wd)
			path := tt.path(t)
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.ReplaceAll(tt.wantSource, "{path}", path); c.Source() != want {
				t.Errorf("Source() = %q, want %q", c.Source(), want)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestLoadMissingPath(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want os.ErrNotExist, got %v", err)
	}
}

func TestEnvSecretOverridesFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.toml": "[daemon.ipc]\nauth_token = \"from-file\"\n"})
	tests := []struct {
		name, env, want, wantSource string
	}{
		{"file only", "", "from-file", "embedded defaults + " + dir + " (1 file)"},
		{"env wins", "from-env", "from-env", "embedded defaults + " + dir + " (1 file) + env SUPERBOT_DAEMON_IPC_AUTH_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SUPERBOT_DAEMON_IPC_AUTH_TOKEN", tt.env)
			if tt.env == "" {
				_ = os.Unsetenv("SUPERBOT_DAEMON_IPC_AUTH_TOKEN") // t.Setenv restores it
			}
			c, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.Daemon.IPC.AuthToken != tt.want {
				t.Errorf("auth_token = %q, want %q", c.Daemon.IPC.AuthToken, tt.want)
			}
			if c.Source() != tt.wantSource {
				t.Errorf("Source() = %q, want %q", c.Source(), tt.wantSource)
			}
		})
	}
}

// TestEnvOverrideProblems: a SUPERBOT_ variable shaped like a config key
// that is not a secret's, or a secret's with a bad value, is a problem
// naming the variable, not silently ignored.
func TestEnvOverrideProblems(t *testing.T) {
	tests := []struct {
		name, env, value string
		want             string // "" = loads
	}{
		{"secret", "SUPERBOT_CONNECTOR_API_KEY", "zq-value-zq", ""},
		{"not a config variable", "SUPERBOT_SOCKET", "/tmp/x.sock", ""},
		{"not overridable", "SUPERBOT_DAEMON_STATE_DIR", "/tmp/x",
			"daemon.state_dir: cannot be set from the environment: only secrets can come from the environment (SUPERBOT_CACHE_REDIS_PASSWORD, SUPERBOT_CONNECTOR_API_KEY, SUPERBOT_CONNECTOR_SECRET_KEY, SUPERBOT_DAEMON_IPC_AUTH_TOKEN, SUPERBOT_WEBUI_PASSWORD_HASH); set it in a config file (env SUPERBOT_DAEMON_STATE_DIR)"},
		{"module key", "SUPERBOT_DAEMON_MODULES_EXCHANGE_SIM_PORT", "1", "daemon.modules.exchange-sim.port: cannot be set from the environment"},
		{"no such key", "SUPERBOT_CONNECTOR_API_KYE", "zq-value-zq", "names no config key: only secrets can come from the environment (SUPERBOT_CACHE_REDIS_PASSWORD"},
		{"empty secret", "SUPERBOT_CACHE_REDIS_PASSWORD", "", "cache.redis_password: set but empty"},
		{"control characters", "SUPERBOT_DAEMON_IPC_AUTH_TOKEN", "0123456789abcdef0123\n", "daemon.ipc.auth_token: invalid value (a secret, not shown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, err := Load(writeFiles(t, map[string]string{"a.toml": ""}))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected problems: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("want %q in: %v", tt.want, err)
			case err != nil && tt.value != "" && strings.Contains(err.Error(), tt.value):
				t.Fatalf("the value shows in: %v", err)
			}
		})
	}
}

func loadString(t *testing.T, content string) *Config {
	t.Helper()
	dir := writeFiles(t, map[string]string{"a.toml": content})
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScrubSecrets(t *testing.T) {
	c := Default()
	c.Daemon.IPC.AuthToken = "hunter22"
	list := []Problem{{Key: "daemon.ipc.auth_token", Msg: `too weak: "hunter22"`}}
	scrubSecrets(c, list)
	if want := `too weak: "<redacted>"`; list[0].Msg != want {
		t.Errorf("Msg = %q, want %q", list[0].Msg, want)
	}
}

func TestLogFile(t *testing.T) {
	tests := []struct{ name, dir, file, want string }{
		{"relative", "logs", "daemon.log", "logs/daemon.log"},
		{"absolute", "logs", "/var/log/sb.log", "/var/log/sb.log"},
		{"off", "logs", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DaemonConfig{LogDir: tt.dir, Logging: LoggingConfig{File: tt.file}}
			if got := c.LogFile(); got != tt.want {
				t.Errorf("LogFile() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	c := loadString(t, "[daemon.ipc]\nsocket_path = \"/run/sb.sock\"\nauth_token = \"s3cret\"\n")
	tests := []struct {
		key     string
		want    any
		wantErr error
	}{
		{key: "daemon.ipc.socket_path", want: "/run/sb.sock"},
		{key: "daemon.ipc.max_connections", want: 128},
		{key: "daemon.shutdown_timeout", want: 10 * time.Second},
		{key: "daemon.logging.console", want: true},
		{key: "daemon.ipc.auth_token", want: RedactedValue},
		{key: "daemon.ipc.nope", wantErr: ErrUnknownKey},
		{key: "daemon.ipc.socket_path.deeper", wantErr: ErrUnknownKey},
		{key: "", wantErr: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := c.Get(tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("Get = %#v, want %#v", got, tt.want)
			}
		})
	}
	t.Run("a whole section is redacted", func(t *testing.T) {
		got, err := c.Get("daemon.ipc")
		if err != nil {
			t.Fatal(err)
		}
		if ipc, ok := got.(edge.Config); !ok || ipc.AuthToken != RedactedValue {
			t.Errorf("Get(daemon.ipc) = %#v", got)
		}
	})
}

func TestRedacted(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		{"set secret", "s3cret", RedactedValue},
		{"unset secret stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Daemon.IPC.AuthToken = tt.token
			r := c.Redacted()
			if r.Daemon.IPC.AuthToken != tt.want {
				t.Errorf("redacted auth_token = %q, want %q", r.Daemon.IPC.AuthToken, tt.want)
			}
			if c.Daemon.IPC.AuthToken != tt.token {
				t.Errorf("original changed: %q", c.Daemon.IPC.AuthToken)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"nothing", func(*Config) {}, nil},
		{"logging", func(c *Config) { c.Daemon.Logging.Level = "debug" }, []string{"daemon.logging"}},
		{"daemon own key", func(c *Config) { c.Daemon.ShutdownTimeout = time.Second }, []string{"daemon"}},
		{"secret", func(c *Config) { c.Daemon.IPC.AuthToken = "new" }, []string{"daemon.ipc"}},
		{"several", func(c *Config) {
			c.Daemon.Bus.QueueSize = 1
			c.Daemon.Supervisor.MaxRestarts = 9
			c.Daemon.Node = "x"
		}, []string{"daemon", "daemon.bus", "daemon.supervisor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := Default()
			cur := Default()
			tt.change(cur)
			if got := Diff(old, cur); !slices.Equal(got, tt.want) {
				t.Errorf("Diff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	good := writeFiles(t, map[string]string{"a.toml": "[daemon]\nnode = \"n1\"\n"})
	bad := writeFiles(t, map[string]string{"a.toml": "[daemon]\nnode = 1\nbogus = 2\n"})
	tests := []struct {
		name, path string
		code       int
		want       string
	}{
		{"ok", good, 0, "config OK (embedded defaults + " + good + " (1 file))\n"},
		{"problems", bad, 1, "daemon.node: expected a string, got integer 1 (" + bad + "/a.toml:2)\n" +
			"daemon.bogus: unknown key (" + bad + "/a.toml:3)\nconfig: 2 problems\n"},
		{"missing", filepath.Join(good, "nope"), 1, "config: open config: stat " + filepath.Join(good, "nope") + ": no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := Check(tt.path, &out); code != tt.code {
				t.Errorf("code = %d, want %d", code, tt.code)
			}
			if out.String() != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tt.want)
			}
		})
	}
}

// A map section as others will add (daemon.modules.NAME), exercised on a
// test-only schema.
type testModule struct {
	Cmd     string        `toml:"cmd"`
	Restart time.Duration `toml:"restart"`
	APIKey  string        `toml:"api_key" secret:"true"`
}

func (m testModule) Validate() error {
	if m.Cmd == "" {
		return errors.New("cmd: must not be empty")
	}
	return nil
}

type testSchema struct {
	Modules map[string]testModule `toml:"modules"`
}

func TestMapSection(t *testing.T) {
	registerEntryDefault(func() testModule { return testModule{Restart: time.Second} })
	t.Cleanup(func() { delete(entryDefaults, reflect.TypeFor[testModule]()) })

	ft, probs := parseFile("m.toml", []byte("[modules.ai]\ncmd = \"uvicorn\"\napi_key = \"k\"\n[modules.web]\nrestart = \"5s\"\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var s testSchema
	var p Problems
	d := decoder{probs: &p, where: func(k string) (string, int) { return "m.toml", ft.lines[k] }}
	d.decode(reflect.ValueOf(&s).Elem(), ft.tree, "")
	if len(p.List) > 0 {
		t.Fatal(p.Error())
	}
	if got := s.Modules["ai"]; got.Restart != time.Second || got.Cmd != "uvicorn" {
		t.Errorf("modules.ai = %+v, want the entry default restart", got)
	}

	var msgs []string
	validate(reflect.ValueOf(s), "", func(k, msg string) { msgs = append(msgs, k+": "+msg) })
	if want := []string{"modules.web.cmd: must not be empty"}; !slices.Equal(msgs, want) {
		t.Errorf("validate = %q, want %q", msgs, want)
	}

	t.Setenv("SUPERBOT_MODULES_WEB_API_KEY", "from-env")
	var secrets []string
	rewriteSecrets(reflect.ValueOf(&s).Elem(), "", func(k string, leaf reflect.Value) {
		secrets = append(secrets, k+"="+EnvName(k))
		if v := os.Getenv(EnvName(k)); v != "" {
			leaf.SetString(v)
		}
	})
	want := []string{"modules.ai.api_key=SUPERBOT_MODULES_AI_API_KEY", "modules.web.api_key=SUPERBOT_MODULES_WEB_API_KEY"}
	if !slices.Equal(secrets, want) || s.Modules["web"].APIKey != "from-env" {
		t.Errorf("secrets = %q, web = %+v", secrets, s.Modules["web"])
	}

	s2 := deepCopy(reflect.ValueOf(s)).Interface().(testSchema)
	delete(s2.Modules, "web")
	m := s2.Modules["ai"]
	m.Cmd = "python"
	s2.Modules["ai"] = m
	s2.Modules["new"] = testModule{Cmd: "x"}
	var diff []string
	diffSection(reflect.ValueOf(s), reflect.ValueOf(s2), "", &diff)
	slices.Sort(diff)
	if want := []string{"modules.ai", "modules.new", "modules.web"}; !slices.Equal(diff, want) {
		t.Errorf("diff = %q, want %q", diff, want)
	}
	if s.Modules["ai"].Cmd != "uvicorn" {
		t.Error("deepCopy shared the map")
	}
}
