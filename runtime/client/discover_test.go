package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/client/clienttest"
)

// hermetic clears the variables Locate reads and points HOME at a fresh
// directory; it returns that home.
func hermetic(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(client.SocketEnv, "")
	t.Setenv(client.TokenPathEnv, "")
	t.Setenv(client.TokenEnv, "")
	t.Setenv(client.DaemonTokenEnv, "")
	return home
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(parts...)
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// noStateDirAbove skips when a .superbot directory exists above dir: the
// walk would find it first.
func noStateDirAbove(t *testing.T, dir string) {
	t.Helper()
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, client.DefaultStateDir)); err == nil {
			t.Skipf("%s/.superbot exists above the test's directory", d)
		}
		if filepath.Dir(d) == d {
			return
		}
	}
}

func TestLocateSearchOrder(t *testing.T) {
	home := hermetic(t)
	root := t.TempDir()
	noStateDirAbove(t, root)
	project := mkdir(t, root, "project")
	projectState := mkdir(t, project, ".superbot")
	deep := mkdir(t, project, "src", "pkg", "deeper")
	homeState := mkdir(t, home, ".superbot")
	outside := mkdir(t, root, "elsewhere")

	tests := []struct {
		name      string
		opts      client.Options
		wd        string
		env       string // $SUPERBOT_SOCKET
		tokenPath string // $SUPERBOT_TOKEN_PATH
		socket    string
		token     string
		source    string
	}{
		{name: "socket option beats all", opts: client.Options{Socket: "/x/s.sock"}, wd: deep, env: "/env/s.sock",
			socket: "/x/s.sock", token: "/x/token", source: client.SourceSocketOption},
		{name: "state dir option beats env", opts: client.Options{StateDir: "/sd"}, wd: deep, env: "/env/s.sock", tokenPath: "/tp",
			socket: "/sd/superbot.sock", token: "/sd/token", source: client.SourceStateDirOption},
		{name: "env beats the walk", wd: deep, env: "/env/s.sock", tokenPath: "/tp/token",
			socket: "/env/s.sock", token: "/tp/token", source: client.SourceSocketEnv},
		{name: "env socket, token beside it", wd: deep, env: "/env/s.sock",
			socket: "/env/s.sock", token: "/env/token", source: client.SourceSocketEnv},
		{name: "nearest above a subdirectory", wd: deep,
			socket: filepath.Join(projectState, "superbot.sock"), token: filepath.Join(projectState, "token"), source: client.SourceNearest},
		{name: "nearest in the working directory", wd: project,
			socket: filepath.Join(projectState, "superbot.sock"), token: filepath.Join(projectState, "token"), source: client.SourceNearest},
		{name: "home when nothing above", wd: outside,
			socket: filepath.Join(homeState, "superbot.sock"), token: filepath.Join(homeState, "token"), source: client.SourceHome},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(tt.wd)
			t.Setenv(client.SocketEnv, tt.env)
			t.Setenv(client.TokenPathEnv, tt.tokenPath)
			loc := tt.opts.Locate()
			if loc.Socket != tt.socket || loc.TokenFile != tt.token || loc.Source != tt.source {
				t.Fatalf("Locate() = %+v\nwant socket %s token %s source %q", loc, tt.socket, tt.token, tt.source)
			}
			if got := tt.opts.SocketPath(); got != tt.socket {
				t.Fatalf("SocketPath() = %s", got)
			}
		})
	}
}

// TestDialFromASubdirectory reaches a daemon whose state directory is a
// parent's .superbot, and finds its token there.
func TestDialFromASubdirectory(t *testing.T) {
	hermetic(t)
	srv := clienttest.NewServer(t)
	srv.RequireToken("tok-sub")
	srv.HandleResult("daemon.status", map[string]int{"pid": 7})
	root := t.TempDir()
	noStateDirAbove(t, root)
	if err := os.Symlink(srv.Dir, filepath.Join(root, ".superbot")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srv.Dir, client.TokenName), []byte("tok-sub\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(mkdir(t, root, "a", "b"))
	c, err := client.Dial(context.Background(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var st struct{ PID int }
	if err := c.Call(context.Background(), "daemon.status", nil, &st); err != nil || st.PID != 7 {
		t.Fatalf("daemon.status: %v %+v", err, st)
	}
	if _, addr := c.Endpoint(); addr != filepath.Join(root, ".superbot", client.SocketName) {
		t.Fatalf("endpoint %s", addr)
	}
}

// TestDialNothingFound names the default socket and where the search began.
func TestDialNothingFound(t *testing.T) {
	home := hermetic(t)
	wd := t.TempDir()
	noStateDirAbove(t, wd)
	t.Chdir(wd)
	_, err := client.Dial(context.Background(), client.Options{})
	if !errors.Is(err, client.ErrDaemonNotRunning) {
		t.Fatalf("err %v", err)
	}
	want := "no socket at " + filepath.Join(home, ".superbot", "superbot.sock") + "; no .superbot/ in " + wd + " or above"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err %q lacks %q", err, want)
	}
}

// TestDialLongSocketPath dials a socket whose absolute path is longer than
// sun_path allows, through its shorter relative path.
func TestDialLongSocketPath(t *testing.T) {
	hermetic(t)
	srv := clienttest.NewServer(t)
	srv.HandleResult("x.y", map[string]int{"n": 1})
	root := t.TempDir()
	long := mkdir(t, root, strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.Symlink(srv.Dir, filepath.Join(long, ".superbot")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(long)
	c, err := client.Dial(context.Background(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Call(context.Background(), "x.y", nil, nil); err != nil {
		t.Fatal(err)
	}
}
