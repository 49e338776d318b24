package daemon_test

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// maxPageWeight bounds the overview's first load (issue 13: <= 200 KB
// uncompressed).
const maxPageWeight = 200 * 1000

// browserUIConf adds a scheduled job and a module that cannot run (it
// fails at once: an alert).
const browserUIConf = `[daemon.schedule.jobs.ping]
cron = "@every 1h"
action = "monitoring.health"
[daemon.modules.flaky]
type = "exec"
command = ["/bin/false"]
start_seconds = "0s"
max_restarts = 1
backoff = { initial = "10ms", max = "10ms" }
`

// TestBrowserUI drives the web UI of a real daemon (with its simulated
// exchange) in headless Chromium: it logs in through the login form, sees
// the supervision tree, stops and starts a module from the modules page and
// watches its state change, follows the module's log (pause, search), has a
// ticker move on the market page, opens every other page without a script
// error, and takes screenshots (light, dark, phone).
func TestBrowserUI(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	p := startDaemon(t, dir, browserUIConf)
	p.waitReady()
	base := webAddr(t, dir)
	b := newBrowser(t, 1280, 900)

	b.login(base, daemonToken(t, dir))
	for _, n := range []string{"bus", "connector", "modules", "heartbeat", "exchange-sim", "webui"} {
		b.until(5*time.Second, "tree node "+n, `!!document.querySelector('#tree [data-node="`+n+`"]')`)
	}
	if got := b.text(`#daemon-info [data-key="node"]`); got == "" {
		t.Fatal("no node name on the overview")
	}
	weight, urls := b.pageWeight()
	if files := filesWeight(t, urls); weight > maxPageWeight || files > maxPageWeight {
		t.Fatalf("the overview's first load is %d bytes (files %d), over %d: %v", weight, files, maxPageWeight, urls)
	}
	t.Logf("overview first load: %d bytes in %d responses", weight, len(urls))

	// Live: a module stopped elsewhere turns stopped in the tree; an alert
	// on the bus shows.
	c := p.client()
	call(t, c, "module.stop", map[string]any{"module": "heartbeat"})
	b.until(15*time.Second, "heartbeat stopped in the tree", `!!document.querySelector('#tree [data-node="heartbeat"][data-state="stopped"]')`)
	call(t, c, "module.start", map[string]any{"module": "heartbeat"})
	b.until(15*time.Second, "heartbeat running in the tree", `!!document.querySelector('#tree [data-node="heartbeat"][data-state="running"]')`)
	call(t, c, "module.start", map[string]any{"module": "flaky"})
	b.until(60*time.Second, "the failed module's alert on the overview", `document.querySelector("#alerts").innerText.includes("alert.module.failed")`)
	b.until(15*time.Second, "flaky failed in the tree", `!!document.querySelector('#tree [data-node="flaky"][data-state="failed"]')`)
	b.shot("overview")

	testBrowserModules(t, b, p)
	testBrowserMarket(t, b)
	testBrowserScheduler(t, b, p)
	for _, pg := range []struct{ hash, ready string }{
		{"trading", "#gate"},
		{"backtests", "#backtest-jobs table"},
	} {
		b.goTo("#/" + pg.hash)
		b.until(15*time.Second, pg.hash+" page", `document.querySelector("main").dataset.page === "`+pg.hash+`" && !!document.querySelector("`+pg.ready+`")`)
		b.shot(pg.hash)
	}
	b.noErrors()

	// The overview in the dark theme and on a phone's screen.
	_, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.goTo("#/overview")
	b.do(20*time.Second, chromedp.Reload())
	b.until(15*time.Second, "the tree (dark)", `!!document.querySelector("#tree[data-ready]")`)
	if bg, _ := eval[string](b, `getComputedStyle(document.body).backgroundColor`); bg == "rgb(246, 247, 249)" {
		t.Fatalf("the dark theme kept the light background %s", bg)
	}
	b.shot("overview-dark")
	b.goTo("#/modules")
	b.do(20*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload())
	b.until(15*time.Second, "the modules table on a phone", `!!document.querySelector("#modules table")`)
	if w, _ := eval[int](b, `document.documentElement.scrollWidth`); w > 420 {
		t.Fatalf("the modules page is %d px wide on a 390 px phone: the page scrolls sideways", w)
	}
	b.shot("modules-phone")
	b.noErrors()

	// Log out: the login form again, and the app only after a new login.
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	b.until(15*time.Second, "the login form after the logout", `!!document.querySelector("form[action='/login'] #token")`)
	b.do(10*time.Second, chromedp.Navigate(base+"/"))
	b.until(15*time.Second, "the login form without a session", `!!document.querySelector("form[action='/login'] #token") && !document.querySelector("#tree")`)
}

// testBrowserModules stops and starts heartbeat with the page's buttons
// (confirming the dialog), watches its state change there and in the
// daemon, and follows its log: live lines, pause, search.
func testBrowserModules(t *testing.T, b *browser, p *proc) {
	b.goTo("#/modules/heartbeat")
	b.until(15*time.Second, "heartbeat running on the modules page", `(document.querySelector('[data-state-of="heartbeat"]') || {}).innerText === "running"`)
	b.until(15*time.Second, "heartbeat's log tail", `document.querySelector("#log").innerText.includes("started thread module heartbeat")`)
	started := strings.Count(b.text("#log"), "started thread module heartbeat")

	// The table refreshes live; a focused button stays focused.
	b.do(10*time.Second, chromedp.Focus(chromedp.CSS(`button[data-action="restart"][data-module="exchange-sim"]`)))
	if _, err := eval[bool](b, `(window.modulesBefore = document.querySelector("#modules table"), true)`); err != nil {
		t.Fatal(err)
	}
	b.until(15*time.Second, "the modules table redrawn", `document.querySelector("#modules table") !== window.modulesBefore`)
	if ok, _ := eval[bool](b, `document.activeElement.matches('button[data-action="restart"][data-module="exchange-sim"]')`); !ok {
		t.Fatal("the redraw took the keyboard focus off the focused button")
	}

	// A canceled confirmation changes nothing.
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(`button[data-action="stop"][data-module="heartbeat"]`)))
	b.until(5*time.Second, "the confirmation", `!!document.querySelector("dialog[open]")`)
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(`dialog[open] button[value="no"]`)))
	b.until(5*time.Second, "the dialog closed", `!document.querySelector("dialog")`)
	if st := moduleStatus(t, p, "heartbeat", func(map[string]any) bool { return true }); st["state"] != "running" {
		t.Fatalf("a canceled stop left heartbeat %v", st["state"])
	}

	// Stop with the mouse, start with the keyboard (Enter on the focused
	// button, Enter on the dialog's focused confirmation).
	for _, step := range []struct {
		verb, want string
		keys       bool
	}{{"stop", "stopped", false}, {"start", "running", true}} {
		btn := chromedp.CSS(`button[data-action="` + step.verb + `"][data-module="heartbeat"]`)
		if step.keys {
			b.do(10*time.Second, chromedp.Focus(btn), chromedp.KeyEvent(kb.Enter))
		} else {
			b.do(10*time.Second, chromedp.Click(btn))
		}
		b.until(5*time.Second, "the confirmation", `!!document.querySelector("dialog[open] [data-confirm]")`)
		if step.keys {
			b.until(5*time.Second, "the confirmation focused", `document.activeElement === document.querySelector("dialog[open] [data-confirm]")`)
			b.do(10*time.Second, chromedp.KeyEvent(kb.Enter))
		} else {
			b.do(10*time.Second, chromedp.Click(chromedp.CSS(`dialog[open] [data-confirm]`)))
		}
		b.until(20*time.Second, "heartbeat "+step.want+" on the page", `(document.querySelector('[data-state-of="heartbeat"]') || {}).innerText === "`+step.want+`"`)
		moduleStatus(t, p, "heartbeat", func(st map[string]any) bool { return st["state"] == step.want })
		b.shot("modules-" + step.want)
	}
	// The start's line arrives live (the log follows).
	b.until(20*time.Second, "a live log line of the new start",
		`document.querySelector("#log").innerText.split("started thread module heartbeat").length - 1 > `+strconv.Itoa(started))

	// Paused, new lines are held; resumed, they show.
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#log-pause")))
	before := b.text("#log")
	call(t, p.client(), "module.restart", map[string]any{"module": "heartbeat"})
	b.until(20*time.Second, "lines held while paused", `/new lines held/.test(document.querySelector("#log-info").innerText)`)
	if got := b.text("#log"); got != before {
		t.Fatalf("the paused log changed:\nbefore %q\nafter %q", before, got)
	}
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#log-pause")))
	b.until(5*time.Second, "held lines shown", `document.querySelector("#log").innerText.length > `+strconv.Itoa(len(before)))

	// The level filter: warnings and errors only hide heartbeat's info lines.
	setSelect := func(v string) {
		if _, err := eval[bool](b, `(() => { const s = document.querySelector("#log-level"); s.value = "`+v+`"; return s.dispatchEvent(new Event("change")); })()`); err != nil {
			t.Fatal(err)
		}
	}
	setSelect("warn")
	b.until(5*time.Second, "no info line at warn+", `document.querySelectorAll("#log > div").length === 0`)
	setSelect("debug")
	b.until(5*time.Second, "the lines back at debug+", `document.querySelectorAll("#log > div").length > 1`)

	// Search keeps the matching lines only, the match marked.
	b.do(10*time.Second, chromedp.SendKeys(chromedp.CSS("#log-search"), "no-such-text"))
	b.until(5*time.Second, "no line matches", `document.querySelectorAll("#log > div").length === 0`)
	if _, err := eval[bool](b, `(() => { const s = document.querySelector("#log-search"); s.value = ""; return s.dispatchEvent(new Event("input")); })()`); err != nil {
		t.Fatal(err)
	}
	b.do(10*time.Second, chromedp.SendKeys(chromedp.CSS("#log-search"), "STARTED thread"))
	b.until(5*time.Second, "the matching lines, marked", `(() => {
		const rows = [...document.querySelectorAll("#log > div")];
		return rows.length > 1 && rows.every(r => r.querySelector("mark") && /started thread/.test(r.innerText));
	})()`)
	b.shot("modules-log-search")
}

// testBrowserMarket watches BTCUSDT from the market page and sees its
// ticker take several prices from the live price events, beside candles.
func testBrowserMarket(t *testing.T, b *browser) {
	b.goTo("#/market")
	b.until(15*time.Second, "the market page", `!!document.querySelector("#watch-symbol")`)
	b.do(10*time.Second,
		chromedp.SendKeys(chromedp.CSS("#watch-symbol"), "btcusdt"),
		chromedp.Click(chromedp.CSS("#watch")))
	b.until(15*time.Second, "a BTCUSDT ticker", `!!document.querySelector('.ticker[data-symbol="BTCUSDT"]')`)
	seen := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < 3 {
		px := b.text(`.ticker[data-symbol="BTCUSDT"] .px`)
		if px != "" && px != "…" {
			seen[px] = true
		}
		if time.Now().After(deadline) {
			b.shot("market-timeout")
			t.Fatalf("the BTCUSDT ticker showed %v in 60 s, want 3 prices", seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ticks, _ := eval[string](b, `document.querySelector('.ticker[data-symbol="BTCUSDT"]').dataset.ticks`)
	if n, _ := strconv.Atoi(ticks); n < 2 {
		t.Fatalf("the ticker moved %s times from price events", ticks)
	}
	b.until(15*time.Second, "the candle chart's symbol", `document.querySelector("#chart-symbol").value === "BTCUSDT"`)
	b.shot("market")

	// The connection drops: the client connects again, subscribes again,
	// and the ticker goes on moving.
	ticks, _ = eval[string](b, `document.querySelector('.ticker[data-symbol="BTCUSDT"]').dataset.ticks`)
	if opens := b.text("#conn"); opens != "live" {
		t.Fatalf("connection state %q before the drop", opens)
	}
	if _, err := eval[bool](b, `(window.superbotRPC.ws.close(), true)`); err != nil {
		t.Fatal(err)
	}
	b.until(30*time.Second, "the connection back", `document.querySelector("#conn").dataset.opens === "2" && document.querySelector("#conn").dataset.state === "open"`)
	b.until(30*time.Second, "the ticker moving after the reconnection",
		`+document.querySelector('.ticker[data-symbol="BTCUSDT"]').dataset.ticks > `+ticks+` + 2`)
}

// testBrowserScheduler runs the job "ping" now from the scheduler page,
// sees the run in its history, then pauses and resumes it.
func testBrowserScheduler(t *testing.T, b *browser, p *proc) {
	c := p.client()
	job := func() map[string]any {
		return rows(t, c, "scheduler.jobs", map[string]any{"name": "ping"}, "jobs")[0]
	}
	confirm := func(css string) {
		b.do(10*time.Second, chromedp.Click(chromedp.CSS(css)))
		b.until(5*time.Second, "the confirmation", `!!document.querySelector("dialog[open] [data-confirm]")`)
		b.do(10*time.Second, chromedp.Click(chromedp.CSS(`dialog[open] [data-confirm]`)))
	}
	b.goTo("#/scheduler/ping")
	b.until(15*time.Second, "the job ping", `!!document.querySelector('button[data-action="run"][data-job="ping"]')`)
	confirm(`button[data-action="run"][data-job="ping"]`)
	b.until(20*time.Second, "the run in the job's history", `/\bok\b/.test(document.querySelector("#history").innerText)`)
	if j := job(); num(j["runs"]) != 1 {
		t.Fatalf("after the page's run now: %v", j)
	}
	confirm(`button[data-action="pause"][data-job="ping"]`)
	b.until(20*time.Second, "the job paused on the page", `!!document.querySelector('button[data-action="resume"][data-job="ping"]')`)
	if j := job(); j["paused"] != true {
		t.Fatalf("after the page's pause: %v", j)
	}
	b.shot("scheduler-paused")
	confirm(`button[data-action="resume"][data-job="ping"]`)
	b.until(20*time.Second, "the job resumed on the page", `!!document.querySelector('button[data-action="pause"][data-job="ping"]')`)
	if j := job(); j["paused"] == true {
		t.Fatalf("after the page's resume: %v", j)
	}
	b.shot("scheduler")
}

// goTo follows the app's hash route (as its navigation links do).
func (b *browser) goTo(hash string) {
	b.t.Helper()
	if _, err := eval[string](b, `location.hash = `+strconv.Quote(hash)); err != nil {
		b.t.Fatalf("go to %s: %v", hash, err)
	}
}

// browserTradingConf is a paper grid whose buys below the simulator's
// ~65000 BTCUSDT rest as open orders.
const browserTradingConf = `[trading]
mode = "paper"
[trading.risk]
price_band = 0.5
[trading.strategies.ladder]
kind = "grid"
symbol = "BTCUSDT"
interval = "1s"
allocation = "1000 USDT"
params = { lower = 50000, upper = 80000, levels = 31, quantity = 0.0001 }
`

// TestBrowserTradingAndBacktests drives the trading page of a paper grid
// (cancel an open order, halt and resume trading, each confirmed) and runs
// a backtest from the backtests page on downloaded bars, following it to
// its report.
func TestBrowserTradingAndBacktests(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	p := startDaemon(t, dir, browserTradingConf)
	c := waitJournal(t, p)
	now := time.Now().UnixMilli()
	dl := call(t, c, "data.download", map[string]any{"symbols": []string{"BTCUSDT"}, "interval": "1m", "from_ms": now - 6*3600*1000})
	base := webAddr(t, dir)
	b := newBrowser(t, 1280, 900)
	b.login(base, daemonToken(t, dir))

	b.goTo("#/trading")
	b.until(60*time.Second, "an open order with its cancel button", `!!document.querySelector("button[data-cancel]")`)
	id, err := eval[string](b, `document.querySelector("button[data-cancel]").dataset.cancel`)
	if err != nil {
		t.Fatal(err)
	}
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(`button[data-cancel="`+id+`"]`)))
	b.until(5*time.Second, "the confirmation", `!!document.querySelector("dialog[open] [data-confirm]")`)
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(`dialog[open] [data-confirm]`)))
	b.until(30*time.Second, "the canceled order gone from the page", `!document.querySelector('button[data-cancel="`+id+`"]')`)
	if slices.Contains(openIDs(t, c, "ladder"), id) {
		t.Fatalf("order %s is still open in the journal", id)
	}

	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#halt")))
	b.until(5*time.Second, "the halt's reason field", `!!document.querySelector("dialog[open] input")`)
	b.do(10*time.Second,
		chromedp.SendKeys(chromedp.CSS("dialog[open] input"), "browser test"),
		chromedp.Click(chromedp.CSS(`dialog[open] [data-confirm]`)))
	b.until(30*time.Second, "the gate halted on the page", `document.querySelector("#gate-state").innerText === "halted"`)
	gate := func() map[string]any { return call(t, c, "trading.reconcile", nil)["state"].(map[string]any) }
	if g := gate(); g["gate"] != "halted" || !strings.Contains(fmt.Sprint(g["halted_reason"]), "browser test") {
		t.Fatalf("after the page's halt the gate is %v", g)
	}
	b.shot("trading-halted")
	b.do(10*time.Second, chromedp.Click(chromedp.CSS("#resume")))
	b.until(5*time.Second, "the confirmation", `!!document.querySelector("dialog[open] [data-confirm]")`)
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(`dialog[open] [data-confirm]`)))
	b.until(30*time.Second, "the gate open on the page", `document.querySelector("#gate-state").innerText === "open"`)
	if g := gate(); g["gate"] != "open" {
		t.Fatalf("after the page's resume the gate is %v", g)
	}

	// The PnL curve replays the fills at average cost: its last point is
	// the ledger's realised PnL less fees.
	for _, o := range []struct{ side, qty string }{{"BUY", "0.0002"}, {"SELL", "0.0001"}} {
		call(t, c, "trading.order.place", map[string]any{"strategy": "ladder", "symbol": "BTCUSDT", "side": o.side, "type": "MARKET", "quantity": o.qty})
	}
	until(t, 30*time.Second, "the curve's end at the ledger's realised PnL less fees", func() bool {
		a := call(t, c, "trading.pnl", nil)["account"].(map[string]any)
		want := pf(fmt.Sprint(a["realized_pnl"])) - pf(fmt.Sprint(a["fees"]))
		got, err := eval[float64](b, `import("/pages/trading.js").then(m => window.superbotRPC.call("trading.fills", {limit: 1000}).then(r => m.pnlCurve(r.fills).at(-1).v))`)
		return err == nil && math.Abs(got-want) < 1e-6 && want != 0
	})
	b.until(30*time.Second, "the curve's note", `/all fills/.test(document.querySelector("#pnl-note").innerText)`)
	b.shot("trading")

	until(t, 2*time.Minute, "the download done", func() bool {
		jobs := rows(t, c, "data.status", map[string]any{"job": dl["job"]}, "jobs")
		return len(jobs) == 1 && jobs[0]["state"] == "done"
	})
	b.goTo("#/backtests")
	b.until(15*time.Second, "the stored bars", `document.querySelector("#stored").innerText.includes("BTCUSDT")`)
	b.do(10*time.Second, chromedp.Click(chromedp.CSS(`#run-backtest button[type=submit]`)))
	b.until(15*time.Second, "the new job's report route", `/^#\/backtests\/./.test(location.hash)`)
	job, err := eval[string](b, `decodeURIComponent(location.hash.slice("#/backtests/".length))`)
	if err != nil {
		t.Fatal(err)
	}
	b.until(2*time.Minute, "the backtest done on the page", `(document.querySelector('[data-job-state="`+job+`"]') || {}).innerText === "done"`)
	b.until(30*time.Second, "the report's metrics", `!!document.querySelector("#report #metrics") && document.querySelector("#report").innerText.includes("total_return")`)
	// The HTML report's link is served to the session (GET /backtests/ID/html).
	if _, err := eval[bool](b, `(fetch(document.querySelector("#report a.report-link[href$='/html']").href).then((r) => r.text()).then((t) => { window.reportHTML = t; }), true)`); err != nil {
		t.Fatal(err)
	}
	b.until(30*time.Second, "the HTML report served", `(window.reportHTML || "").includes("<html") && window.reportHTML.includes("Equity")`)
	b.shot("backtest-report")
	b.noErrors()
}
