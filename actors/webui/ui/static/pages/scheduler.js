// Scheduler: the trading window, the jobs with their next run and last
// result (run now, pause, resume), and a job's run history.
import { h, clear, redraw, stateBadge, num, time, table, confirmDialog, act, every, debounce } from "../util.js";

/** mount draws the scheduler page into root; it returns the cleanup. */
export function mount(root, { rpc, arg }) {
  const win = h("div", { id: "window" });
  const jobs = h("div", { id: "jobs" });
  const hist = h("section", { class: "panel", id: "history" });
  root.append(h("h1", { text: "Scheduler" }),
    h("section", { class: "panel" }, h("h2", { text: "Trading window" }), win),
    h("section", { class: "panel" }, h("h2", { text: "Jobs" }), jobs), hist);

  const load = async () => {
    const [w, j] = await Promise.all([rpc.call("scheduler.window").catch(() => null), rpc.call("scheduler.jobs")]);
    if (w) drawWindow(win, w);
    redraw(jobs, jobTable(j.jobs || [], rpc, arg, refresh));
    if (arg) {
      const one = await rpc.call("scheduler.jobs", { name: arg });
      drawHistory(hist, (one.jobs || [])[0]);
    } else {
      hist.hidden = true;
    }
  };
  const refresh = debounce(200, () => load().catch(() => {}));
  const stop = every(5000, load);
  let sub = null;
  rpc.subscribe("events.subscribe", { pattern: "scheduler.>" }, refresh).then((s) => (sub = s), () => {});
  return () => {
    stop();
    refresh.cancel();
    if (sub) sub.close();
  };
}

function drawWindow(box, w) {
  redraw(box, h("dl", { class: "kv" },
    h("dt", { text: "State" }), h("dd", null, stateBadge(w.state)),
    w.enabled ? [
      h("dt", { text: "Module" }), h("dd", { text: w.module }),
      h("dt", { text: "Hours" }), h("dd", { text: `${w.start}-${w.stop} ${w.zone}, days ${(w.days || []).join(",")}` }),
      h("dt", { text: "Next open" }), h("dd", { text: w.next_open_local || "" }),
      h("dt", { text: "Next close" }), h("dd", { text: w.next_close_local || "" }),
    ] : null,
    w.last_action_error ? [h("dt", { text: "Last action" }), h("dd", { class: "down", text: w.last_action + ": " + w.last_action_error })] : null));
}

function jobTable(rows, rpc, selected, refresh) {
  const btn = (j, verb, label, ask) => h("button", {
    type: "button", "data-action": verb, "data-job": j.name, text: label,
    onclick: async () => {
      if (!(await confirmDialog(ask, label))) return;
      await act(label + " " + j.name, () => rpc.call("scheduler." + verb, { name: j.name }));
      refresh();
    },
  });
  return table([
    { label: "Job", cell: (j) => h("a", { href: "#/scheduler/" + encodeURIComponent(j.name), "aria-current": j.name === selected ? "true" : null, text: j.name }) },
    { label: "Schedule", cell: (j) => j.spec + " (" + j.zone + ")" },
    { label: "Action", cell: (j) => j.action },
    { label: "State", cell: (j) => stateBadge(!j.enabled ? "disabled" : j.paused ? "paused" : j.running ? "running" : "scheduled") },
    { label: "Next run", cell: (j) => j.next_run_local || time(j.next_run) },
    { label: "Last result", cell: (j) => h("span", { class: /^failed/.test(j.last_result) ? "down" : "", text: j.last_result || "never ran" }) },
    { label: "Runs", num: true, cell: (j) => String(j.runs || 0) },
    { label: "Failures", num: true, cell: (j) => String(j.failures || 0) },
    { label: "Actions", cell: (j) => h("span", { class: "row" },
      btn(j, "run", "Run now", `Run job ${j.name} now?`),
      j.paused ? btn(j, "resume", "Resume", `Resume job ${j.name}?`) : btn(j, "pause", "Pause", `Pause job ${j.name}?`)) },
  ], rows, "no job configured ([daemon.schedule] jobs)");
}

function drawHistory(box, job) {
  box.hidden = false;
  if (!job) {
    clear(box).append(h("p", { class: "muted", text: "no such job" }));
    return;
  }
  const runs = (job.history || []).slice().reverse();
  redraw(box, h("h2", { text: "History: " + job.name }), table([
    { label: "Run", num: true, cell: (r) => String(r.id) },
    { label: "Trigger", cell: (r) => r.trigger },
    { label: "Status", cell: (r) => stateBadge(r.status) },
    { label: "Started", cell: (r) => time(r.started_at) },
    { label: "Duration", num: true, cell: (r) => (r.duration_ms ? num(r.duration_ms, 1) + " ms" : "") },
    { label: "Result", cell: (r) => (r.error && r.error.message ? h("span", { class: "down", text: r.error.message }) : h("span", { class: "clip", title: (r.result || "").slice(0, 1024), text: r.result || "" })) },
  ], runs, "no run yet"));
}
