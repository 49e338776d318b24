package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/superbot/superbot/actors/webui/ui"
)

// chromiumPath finds headless Chromium, or skips the test (fails it under
// CI=true, where the browser is installed).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "no Chromium: apt-get install -y chromium (the browser tests drive it with chromedp)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is one headless Chromium tab with its console watched.
type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	mu     sync.Mutex
	errs   []string // uncaught exceptions and CSP refusals
	logged []string // every console message
}

// newBrowser starts headless Chromium (without its sandbox when root, which
// it refuses otherwise) with a tab, closed when the test ends. Screenshots go
// to $SUPERBOT_SCREENSHOTS when set (kept), else to a temporary directory.
func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.WindowSize(width, height))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, shots: os.Getenv("SUPERBOT_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	} else if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	msgs := chromedp.Console(ctx) // starts the browser; subscribes before any page runs
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.logged = append(b.logged, m.String())
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.errs = append(b.errs, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m))
			}
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser
		cancelTab()
		cancelAlloc()
		<-done
		if t.Failed() {
			b.mu.Lock()
			t.Logf("browser console:\n%s", strings.Join(b.logged, "\n"))
			b.mu.Unlock()
		}
	})
	return b
}

// do runs steps within d.
func (b *browser) do(d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates expr in the page (awaiting a promise) into a T.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// until polls expr (a JavaScript boolean) until it is true, across page
// loads (an evaluation that fails while a page loads is retried).
func (b *browser) until(d time.Duration, what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for {
		ok, err := eval[bool](b, expr)
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			b.shot("timeout")
			b.t.Fatalf("not within %s: %s (%s; last error %v)", d, what, expr, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// text is the innerText of the first element matching css ("" if none).
func (b *browser) text(css string) string {
	b.t.Helper()
	s, err := eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, css))
	if err != nil {
		b.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// shot writes a full-page screenshot NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// noErrors fails the test on any uncaught exception or CSP refusal so far.
func (b *browser) noErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		b.t.Fatalf("the page reported errors:\n%s", strings.Join(b.errs, "\n"))
	}
}

// webAddr waits for the daemon's web UI address (<state_dir>/webui.addr).
func webAddr(t *testing.T, dir string) string {
	t.Helper()
	var addr string
	until(t, 20*time.Second, "webui.addr", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, ".superbot", "webui.addr"))
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	return "http://" + addr
}

// daemonToken reads the daemon's RPC token.
func daemonToken(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".superbot", "token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// login logs the browser in through the login form and waits for the
// overview's tree.
func (b *browser) login(base, token string) {
	b.t.Helper()
	b.do(30*time.Second, chromedp.Navigate(base+"/"))
	b.until(10*time.Second, "the login form", `!!document.querySelector("form[action='/login'] #token")`)
	b.do(30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("form[action='/login'] button[type=submit]")))
	b.until(30*time.Second, "the overview's tree after the login", `!!document.querySelector("#tree[data-ready]")`)
}

// pageWeight is the bytes of the responses of the page's load: the
// document and every resource, decoded (uncompressed), as the page's
// resource timing counts them, and the paths it loaded.
func (b *browser) pageWeight() (int, []string) {
	b.t.Helper()
	type entry struct {
		Name string  `json:"name"`
		Size float64 `json:"size"`
	}
	es, err := eval[[]entry](b, `[...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
		.map(e => ({name: e.name, size: e.decodedBodySize}))`)
	if err != nil {
		b.t.Fatal(err)
	}
	total := 0
	var names []string
	for _, e := range es {
		total += int(e.Size)
		names = append(names, e.Name)
	}
	return total, names
}

// filesWeight sums the sizes of the UI files that urls name (the document
// "/" is index.html), read from the embedded UI: a check of the browser's
// own count.
func filesWeight(t *testing.T, urls []string) int {
	t.Helper()
	total := 0
	for _, u := range urls {
		path := u[strings.Index(u, "//")+2:]
		path = path[strings.IndexByte(path, '/')+1:]
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			path = "index.html"
		}
		st, err := fs.Stat(ui.FS(), path)
		if errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the page loaded %s, not a UI file", u)
		}
		if err != nil {
			t.Fatal(err)
		}
		total += int(st.Size())
	}
	return total
}
