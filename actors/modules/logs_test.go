package modules

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestPumpLines: how a stream's bytes become lines, whatever the writes'
// boundaries, and what the ring keeps.
func TestPumpLines(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes)
	for _, tc := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{name: "lines", writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{name: "split writes", writes: []string{"ab", "c\nd", "e\n"}, want: []string{"abc", "de"}},
		{name: "crlf and empty", writes: []string{"a\r\n\nb\n"}, want: []string{"a", "", "b"}},
		{name: "last line without end", writes: []string{"a\nb"}, want: []string{"a", "b"}},
		{name: "long line cut", writes: []string{long[:1000], long[1000:] + "yz\n"}, want: []string{long, "yz"}},
		{name: "long line cut twice", writes: []string{long + long + "\n"}, want: []string{long, long}},
		{name: "cut at the end", writes: []string{long + "\nz\n"}, want: []string{long, "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			s := newLogSink("p", "", nil, nil)
			done := make(chan struct{})
			go func() {
				s.pump(r, "stdout")
				close(done)
			}()
			for _, c := range tc.writes {
				if _, err := w.WriteString(c); err != nil {
					t.Fatal(err)
				}
			}
			_ = w.Close()
			<-done
			var got []string
			for _, l := range s.tail(len(tc.want) + 1) {
				got = append(got, l.Line)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("lines %q, want %q", abbrev(got), abbrev(tc.want))
			}
		})
	}
}

// TestRingKeepsTheLast: the ring grows to ringLines and then keeps the
// most recent.
func TestRingKeepsTheLast(t *testing.T) {
	s := newLogSink("r", "", nil, nil)
	for i := range ringLines + 10 {
		s.line("stdout", itoa(i))
	}
	tail := s.tail(ringLines + 5)
	if len(tail) != ringLines || tail[0].Line != itoa(10) || tail[len(tail)-1].Line != itoa(ringLines+9) {
		t.Fatalf("%d lines, %s ... %s", len(tail), tail[0].Line, tail[len(tail)-1].Line)
	}
	if three := s.tail(3); three[0].Line != itoa(ringLines+7) {
		t.Fatalf("tail 3 starts at %s", three[0].Line)
	}
}

func abbrev(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > 20 {
			l = fmt.Sprintf("%s...(%d bytes)", l[:10], len(l))
		}
		out[i] = l
	}
	return out
}

// TestStartFailureReasonInModuleLog: why a module failed to start is in
// its own log (logs/NAME.log) and on its logs.NAME topic.
func TestStartFailureReasonInModuleLog(t *testing.T) {
	type tcase struct {
		name string
		m    func(t *testing.T) ModuleConfig
		want string
	}
	cases := []tcase{
		{name: "exec not found", m: func(*testing.T) ModuleConfig {
			m := execModule("/nonexistent/bin/module")
			m.Restart = RestartNever
			return m
		}, want: "/nonexistent/bin/module: no such file or directory"},
		{name: "bad python", m: func(*testing.T) ModuleConfig {
			m := DefaultModuleConfig()
			m.Type, m.Module, m.Python, m.StartPeriod, m.Restart = TypePython, "app", "/nonexistent/venv/python3", 0, RestartNever
			return m
		}, want: "/nonexistent/venv/python3: no such file or directory"},
		{name: "python module missing", m: func(*testing.T) ModuleConfig {
			m := DefaultModuleConfig()
			m.Type, m.Module, m.Python, m.StartPeriod, m.Restart = TypePython, "no_such_module_here", "/usr/bin/python3", 0, RestartNever
			return m
		}, want: "No module named no_such_module_here"},
		{name: "thread module not registered", m: func(*testing.T) ModuleConfig {
			m := DefaultModuleConfig()
			m.Type, m.Module, m.StartPeriod, m.Restart = TypeThread, "no-such-thread", 0, RestartNever
			return m
		}, want: `no thread module "no-such-thread"`},
		{name: "health check failing", m: func(t *testing.T) ModuleConfig {
			m := execModule(helper(t))
			m.Port = freePort(t) // nothing listens there
			m.HealthcheckEndpoint = "/health"
			m.StartTimeout = 300 * time.Millisecond
			m.Restart = RestartNever
			return m
		}, want: "not healthy in time"},
		{name: "port in use", m: func(t *testing.T) ModuleConfig {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			m := execModule(helper(t), "-listen", ln.Addr().String())
			m.Restart = RestartNever
			return m
		}, want: "address already in use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{Modules: map[string]ModuleConfig{"bad": tc.m(t)}})
			h.start("bad")
			actorEventually(t, func() bool {
				b, _ := os.ReadFile(filepath.Join(h.logs, "bad.log"))
				return strings.Contains(string(b), tc.want)
			}, "%q in bad.log:\n%s", tc.want, h.tailText("bad"))
			actortest.ExpectMatch(t, h.bus, 5*time.Second, func(e *messages.Event) bool {
				var l messages.LogLine
				return e.Topic == "logs.bad" && e.Payload.UnmarshalTo(&l) == nil && strings.Contains(l.Line, tc.want)
			})
		})
	}
}

// TestRestartKeepsLogOrder: across restarts, every line of a process (and
// the daemon's note of its exit) comes before the next process's first,
// in the ring, on the bus and in logs/NAME.log. Each run ends with a
// burst on both streams, written just before it exits.
func TestRestartKeepsLogOrder(t *testing.T) {
	const runs = 6
	m := execModule("/bin/sh", "-c", `echo "begin $$"; i=0; while [ $i -lt 40 ]; do echo "out $$ $i"; echo "err $$ $i" >&2; i=$((i+1)); done; echo "end $$"; exit 1`)
	m.Restart = RestartAlways
	m.Backoff = Backoff{}
	m.MaxRestarts = 1000 // no cap within the test
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"o": m}})
	h.start("o")
	var bus []string
	actorEventually(t, func() bool {
		for {
			msg, ok := h.bus.Next(10 * time.Millisecond)
			if !ok {
				break
			}
			var l messages.LogLine
			if ev, ok := msg.(*messages.Event); ok && ev.Topic == "logs.o" && ev.Payload.UnmarshalTo(&l) == nil {
				bus = append(bus, l.Line)
			}
		}
		return strings.Count(strings.Join(bus, "\n"), "begin ") >= runs
	}, "%d runs", runs)
	h.stop("o")
	var ring []string
	for _, l := range request[*messages.LogsTailResponse](h, &messages.LogsTailRequest{Module: "o", Lines: ringLines}).Lines {
		ring = append(ring, l.Line)
	}
	var file []string
	actorEventually(t, func() bool { // the daemon's notes reach the file through the file goroutine
		b, _ := os.ReadFile(filepath.Join(h.logs, "o.log"))
		file = strings.Split(strings.TrimSpace(string(b)), "\n")
		return len(file) >= len(ring)
	}, "o.log complete")
	for name, lines := range map[string][]string{"bus": bus, "ring": ring, "file": file} {
		checkRunOrder(t, name, lines)
	}
}

// checkRunOrder checks that lines come in runs: once a process's "begin"
// is seen, no line of an earlier process follows, and each process's exit
// note follows its "end".
func checkRunOrder(t *testing.T, name string, lines []string) {
	t.Helper()
	done := map[string]bool{} // pids of finished runs
	cur, ended := "", false
	for i, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) >= 2 && f[0] == "begin":
			if cur != "" && !ended {
				t.Errorf("%s line %d: %q before the end of run %s", name, i, l, cur)
			}
			if cur != "" {
				done[cur] = true
			}
			cur, ended = f[1], false
		case len(f) >= 2 && (f[0] == "out" || f[0] == "err" || f[0] == "end"):
			if done[f[1]] {
				t.Errorf("%s line %d: %q after the next run began", name, i, l)
			}
		case strings.HasPrefix(l, "exited: "):
			ended = true
		}
	}
	if len(done) < 2 {
		t.Errorf("%s: %d runs seen", name, len(done))
	}
}
