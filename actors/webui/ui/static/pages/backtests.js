// Backtests: run one on stored bars, follow the jobs' progress live
// (backtest.*.progress), cancel, and open a finished job's report
// (#/backtests/ID: metrics, summary, report files, a sweep's points).
import { h, clear, redraw, stateBadge, num, time, table, confirmDialog, act, every, debounce, bytes, toast, duration } from "../util.js";

/** mount draws the backtests page into root; it returns the cleanup. */
export function mount(root, { rpc, arg }) {
  const form = runForm(rpc, () => refresh());
  const data = h("div", { id: "stored" });
  const jobs = h("div", { id: "backtest-jobs" });
  const report = h("section", { class: "panel", id: "report", hidden: !arg });
  root.append(h("h1", { text: "Backtests" }),
    h("div", { class: "grid" },
      h("section", { class: "panel" }, h("h2", { text: "Run a backtest" }), form),
      h("section", { class: "panel" }, h("h2", { text: "Stored bars" }), data)),
    h("section", { class: "panel" }, h("h2", { text: "Jobs" }), jobs), report);

  const rows = new Map(); // id -> job
  const drawJobs = () => redraw(jobs, jobTable([...rows.values()].sort((a, b) => b.created_ms - a.created_ms), rpc, arg, refresh));
  const load = async () => {
    const res = await rpc.call("backtest.list");
    rows.clear();
    for (const j of res.jobs || []) rows.set(j.id, j);
    drawJobs();
  };
  const refresh = debounce(200, () => load().catch(() => {}));
  const stop = every(10000, load);
  rpc.call("data.list").then((d) => drawData(data, d), (e) => data.replaceChildren(h("p", { class: "down", text: e.message })));
  if (arg) openReport(report, rpc, arg);

  let sub = null;
  const onProgress = (ev) => {
    const j = ev.payload;
    if (!j || !j.id) return;
    const was = rows.get(j.id);
    rows.set(j.id, j);
    drawJobs();
    if (j.id === arg && was && was.state !== j.state && j.state === "done") openReport(report, rpc, arg);
  };
  rpc.subscribe("events.subscribe", { pattern: "backtest.*.progress" }, onProgress).then((s) => (sub = s), () => {});
  return () => {
    stop();
    refresh.cancel();
    if (sub) sub.close();
  };
}

function runForm(rpc, refresh) {
  const f = (label, input) => h("label", { class: "row" }, h("span", { text: label }), input);
  const strategy = h("input", { type: "text", name: "strategy", value: "sma_cross", required: true, list: "strategy-kinds" });
  const kinds = h("datalist", { id: "strategy-kinds" }, ["sma_cross", "grid"].map((k) => h("option", { value: k })));
  const params = h("textarea", { name: "params", rows: 3, value: '{"fast": 10, "slow": 30, "quantity": 0.01}' });
  const symbols = h("input", { type: "text", name: "symbols", value: "BTCUSDT", required: true });
  const interval = h("input", { type: "text", name: "interval", value: "1m", size: 5 });
  const weekAgo = new Date(Date.now() - 7 * 86400000).toISOString().slice(0, 10);
  const from = h("input", { type: "date", name: "from", value: weekAgo, required: true });
  const to = h("input", { type: "date", name: "to" });
  const alloc = h("input", { type: "number", name: "allocation", value: "10000", min: "0", step: "any" });
  const submit = async (e) => {
    e.preventDefault();
    let p;
    try {
      p = JSON.parse(params.value || "{}");
    } catch (err) {
      toast("params: not JSON: " + err.message, "error");
      return;
    }
    const req = {
      strategy: strategy.value.trim(), params: p, interval: interval.value.trim() || "1m",
      symbols: symbols.value.split(/[\s,]+/).filter(Boolean).map((s) => s.toUpperCase()),
      allocation: Number(alloc.value) || 0,
    };
    if (from.value) req.from_ms = Date.parse(from.value + "T00:00:00Z");
    if (to.value) req.to_ms = Date.parse(to.value + "T00:00:00Z");
    const res = await act("backtest", () => rpc.call("backtest.run", req));
    if (res && res.job) location.hash = "#/backtests/" + encodeURIComponent(res.job.id);
    refresh();
  };
  return h("form", { id: "run-backtest", onsubmit: submit },
    f("Strategy", strategy), kinds, f("Params (JSON)", params), f("Symbols", symbols), f("Interval", interval),
    f("From (UTC)", from), f("To (UTC)", to), f("Allocation", alloc),
    h("button", { type: "submit", class: "primary", text: "Run" }));
}

function drawData(box, d) {
  redraw(box, table([
    { label: "Symbol", cell: (s) => s.symbol },
    { label: "Interval", cell: (s) => s.interval },
    { label: "From", cell: (s) => time(s.from_ms) },
    { label: "To", cell: (s) => time(s.to_ms) },
    { label: "Bars", num: true, cell: (s) => num(s.bars, 0) },
    { label: "Gaps", num: true, cell: (s) => String((s.gaps || []).length) },
    { label: "Size", num: true, cell: (s) => bytes(s.bytes) },
  ], d.series || [], "no stored bars (superbot data download / import)"));
}

function jobTable(rows, rpc, selected, refresh) {
  const live = (j) => ["queued", "running"].includes(j.state);
  return table([
    { label: "Job", cell: (j) => h("a", { href: "#/backtests/" + encodeURIComponent(j.id), "aria-current": j.id === selected ? "true" : null, text: j.id }) },
    { label: "Strategy", cell: (j) => j.strategy + (j.sweep ? " (sweep)" : "") },
    { label: "Symbols", cell: (j) => (j.symbols || []).join(",") + " " + j.interval },
    { label: "State", cell: (j) => h("span", { "data-job-state": j.id }, stateBadge(j.state)) },
    { label: "Progress", cell: (j) => h("span", null,
      h("progress", { max: "1", value: String(j.progress || 0), "aria-label": "progress of " + j.id }),
      " " + num((j.progress || 0) * 100, 0) + " %" + (j.eta_ms > 0 && live(j) ? ", " + duration(j.eta_ms / 1000) + " left" : "")) },
    { label: "Created", cell: (j) => time(j.created_ms) },
    { label: "Error", cell: (j) => h("span", { class: "down", text: j.error || "" }) },
    { label: "", cell: (j) => (live(j) ? h("button", {
      type: "button", class: "danger", text: "Cancel",
      onclick: async () => {
        if (!(await confirmDialog(`Cancel backtest ${j.id}?`, "Cancel backtest"))) return;
        await act("cancel " + j.id, () => rpc.call("backtest.cancel", { id: j.id }));
        refresh();
      },
    }) : "") },
  ], rows, "no backtest yet");
}

function metric(k, v) {
  if (typeof v === "number") return /_ms$/.test(k) && v > 1e11 ? time(v) : /_ms$/.test(k) ? duration(v / 1000) : num(v, 6);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

async function openReport(box, rpc, id) {
  box.hidden = false;
  clear(box).append(h("h2", { text: "Report: " + id }));
  let r;
  try {
    r = await rpc.call("backtest.result", { id });
  } catch (e) {
    box.append(h("p", { class: "muted", text: e.message }));
    return;
  }
  const metrics = Object.entries(r.metrics || {});
  const parts = [
    h("p", null, stateBadge(r.job && r.job.state)),
    metrics.length ? h("dl", { class: "kv", id: "metrics" }, metrics.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: metric(k, v) })])) : null,
    r.summary ? h("pre", { class: "summary", text: r.summary }) : null,
    (r.files || []).length ? h("div", null, h("h2", { text: "Report files" }), table([
      { label: "Kind", cell: (f) => h("a", { href: "/backtests/" + encodeURIComponent(id) + "/" + f.kind, target: "_blank", rel: "noopener", class: "report-link", text: f.kind }) },
      { label: "Path", cell: (f) => h("code", { text: f.path }) },
      { label: "Size", num: true, cell: (f) => bytes(f.bytes) },
    ], r.files)) : null,
    (r.points || []).length ? h("div", null, h("h2", { text: "Sweep points by " + (r.metric || "score") }), table([
      { label: "Params", cell: (p) => Object.entries(p.params || {}).map(([k, v]) => k + "=" + v).join(" ") },
      { label: "Score", num: true, cell: (p) => num(p.score, 4) },
      { label: "Trades", num: true, cell: (p) => String(p.trades || 0) },
      { label: "Out of sample", num: true, cell: (p) => (p.out_of_sample === undefined ? "" : num(p.out_of_sample, 4)) },
    ], r.points.slice(0, 50))) : null];
  box.append(...parts.filter(Boolean));
}
