package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

var timePrefix = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d\d\d `)

// lines returns the logged lines with their time stamp checked and removed.
func lines(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		if !timePrefix.MatchString(l) {
			t.Fatalf("line without a time stamp: %q", l)
		}
		got = append(got, timePrefix.ReplaceAllString(l, ""))
	}
	return got
}

type token string

func (token) LogValue() slog.Value { return slog.StringValue("<hidden>") }

func TestConsoleFormat(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want string
	}{
		{"message only", func(l *slog.Logger) { l.Info("daemon ready") }, "INF daemon ready"},
		{"attrs", func(l *slog.Logger) { l.Info("supervisor started", "child", "bus", "restarts", 2) }, "INF supervisor started child=bus restarts=2"},
		{"kinds", func(l *slog.Logger) {
			l.Info("k", "f", 1.5, "b", true, "d", 1500*time.Millisecond, "u", uint64(7), "err", errors.New("boom"))
		}, "INF k f=1.5 b=true d=1.5s u=7 err=boom"},
		{"quoting", func(l *slog.Logger) {
			l.Info("q", "space", "a b", "empty", "", "eq", "a=b", "quote", `say "hi"`, "nl", "a\nb")
		}, `INF q space="a b" empty="" eq="a=b" quote="say \"hi\"" nl="a\nb"`},
		{"error value with spaces", func(l *slog.Logger) {
			l.Error("start failed", "err", fmt.Errorf("module %q: start: %w", "ai", os.ErrNotExist))
		},
			`ERR start failed err="module \"ai\": start: file does not exist"`},
		{"group attr", func(l *slog.Logger) { l.Info("req", slog.Group("http", "status", 200, "path", "/x")) }, "INF req http.status=200 http.path=/x"},
		{"With and WithGroup", func(l *slog.Logger) {
			l.With("module", "ai").WithGroup("proc").With("pid", 42).Warn("exited", "code", 1)
		}, "WRN exited module=ai proc.pid=42 proc.code=1"},
		{"empty group omitted", func(l *slog.Logger) { l.Info("e", slog.Group("g")) }, "INF e"},
		{"inline group", func(l *slog.Logger) { l.Info("e", slog.Group("", "a", 1)) }, "INF e a=1"},
		{"LogValuer", func(l *slog.Logger) { l.Info("auth", "token", token("s3cret")) }, "INF auth token=<hidden>"},
		{"level in between", func(l *slog.Logger) { l.Log(t.Context(), slog.LevelInfo+2, "odd") }, "INF+2 odd"},
		{"debug", func(l *slog.Logger) { l.Debug("dbg") }, "DBG dbg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(slog.New(NewConsoleHandler(&buf, slog.LevelDebug)))
			got := lines(t, buf.String())
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLevelChangesAtRuntime(t *testing.T) {
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	var buf bytes.Buffer
	l, closer, err := New(Options{Level: &lv, Console: &buf})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	l.Info("hidden")
	l.Warn("shown")
	lv.Set(slog.LevelDebug)
	l.Debug("now shown")
	want := []string{"WRN shown", "DBG now shown"}
	if got := lines(t, buf.String()); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"debug", slog.LevelDebug, false},
		{"info", slog.LevelInfo, false},
		{"warn", slog.LevelWarn, false},
		{"ERROR", slog.LevelError, false},
		{"loud", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func TestJSONFormat(t *testing.T) {
	var buf bytes.Buffer
	l, closer, err := New(Options{Format: FormatJSON, Console: &buf})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	l.With("component", "bus").Info("subscribed", "topic", "price.*.update")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", buf.String(), err)
	}
	if rec["level"] != "INFO" || rec["msg"] != "subscribed" || rec["component"] != "bus" || rec["topic"] != "price.*.update" {
		t.Errorf("record = %v", rec)
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, _, err := New(Options{Format: "xml"}); err == nil {
		t.Fatal("want an error")
	}
}

func TestFileGetsTheSameRecords(t *testing.T) {
	for _, format := range []Format{FormatConsole, FormatJSON} {
		t.Run(string(format), func(t *testing.T) {
			var console bytes.Buffer
			file := filepath.Join(t.TempDir(), "logs", "daemon.log")
			l, closer, err := New(Options{Format: format, Console: &console, File: file})
			if err != nil {
				t.Fatal(err)
			}
			l.Info("one", "n", 1)
			l.Debug("filtered")
			l.Error("two", "err", "x")
			if err := closer.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != console.String() || strings.Count(string(data), "\n") != 2 {
				t.Errorf("file %q != console %q", data, console.String())
			}
		})
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "daemon.log")
	l, closer, err := New(Options{File: file, MaxSizeMB: 1, MaxBackups: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	payload := strings.Repeat("x", 1000)
	for i := range 2600 { // ~2.6 MB: at least two rotations
		l.Info("filler", "i", i, "payload", payload)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 1<<20 {
		t.Errorf("current file is %d bytes, want <= 1 MiB", st.Size())
	}
	// Rotation is synchronous; pruning old backups runs in lumberjack's own
	// goroutine, so poll for it with a deadline.
	backups := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "daemon-*.log"))
		return m
	}
	if len(backups()) == 0 {
		t.Fatal("no rotated file")
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for len(backups()) != 1 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("backups = %q, want exactly 1 (max_backups)", backups())
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	var console syncBuffer
	file := filepath.Join(t.TempDir(), "daemon.log")
	l, closer, err := New(Options{Console: &console, File: file})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			lw := l.With("writer", w).WithGroup("g")
			for i := range each {
				lw.Info("event happened", "i", i, "text", "a b c")
			}
		})
	}
	wg.Wait()
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^INF event happened writer=\d g\.i=\d+ g\.text="a b c"$`)
	got := lines(t, console.String())
	if len(got) != writers*each {
		t.Fatalf("%d lines, want %d", len(got), writers*each)
	}
	for _, l := range got {
		if !line.MatchString(l) {
			t.Fatalf("torn or malformed line %q", l)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != console.String() {
		t.Error("file and console differ")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestActorLoggerFactory(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level
		log   func(l *slog.Logger)
		want  []string
	}{
		{"info chatter hidden at info", slog.LevelInfo, func(l *slog.Logger) { l.Info("actor started") }, nil},
		{"info chatter shown as debug", slog.LevelDebug, func(l *slog.Logger) { l.Info("actor started", "pid", "p1") },
			[]string{"DBG actor started component=protoactor pid=p1"}},
		{"warnings keep their level", slog.LevelInfo, func(l *slog.Logger) { l.Warn("dead letter") },
			[]string{"WRN dead letter component=protoactor"}},
		{"errors keep their level", slog.LevelInfo, func(l *slog.Logger) { l.Error("crashed") },
			[]string{"ERR crashed component=protoactor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			base := slog.New(NewConsoleHandler(&buf, tt.level))
			tt.log(ActorLoggerFactory(base)(nil))
			if got := lines(t, buf.String()); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("a real actor system", func(t *testing.T) {
		var buf syncBuffer
		base := slog.New(NewConsoleHandler(&buf, slog.LevelDebug))
		system := actor.NewActorSystem(actor.WithLoggerFactory(ActorLoggerFactory(base)))
		defer system.Shutdown()
		got := lines(t, buf.String())
		if len(got) == 0 || !strings.HasPrefix(got[0], "DBG actor system started component=protoactor") {
			t.Errorf("got %q", got)
		}
	})
}

func BenchmarkConsoleHandler(b *testing.B) {
	l := slog.New(NewConsoleHandler(discard{}, slog.LevelInfo)).With("component", "supervisor")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Info("child restarted", "child", "bus", "restarts", 2, "within", time.Minute, "reason", "mailbox panic")
		}
	})
}

func BenchmarkTextHandler(b *testing.B) { // slog's own, for comparison
	l := slog.New(slog.NewTextHandler(discard{}, nil)).With("component", "supervisor")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Info("child restarted", "child", "bus", "restarts", 2, "within", time.Minute, "reason", "mailbox panic")
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
