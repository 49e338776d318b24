// Modules: every configured module with its state, pid, uptime, restarts
// and CPU/RSS sparklines; start, stop and restart with a confirmation; a
// module's live log (#/modules/NAME).
import { h, redraw, stateBadge, duration, bytes, num, table, confirmDialog, act, every, debounce } from "../util.js";
import { sparkline } from "../charts.js";
import { LogView } from "./logview.js";

const keep = 60; // samples per sparkline
const history = new Map(); // module -> {cpu: [], rss: []}, kept across visits

/** mount draws the modules page into root; it returns the cleanup. */
export function mount(root, { rpc, arg }) {
  const list = h("div", { id: "modules" });
  root.append(h("h1", { text: "Modules" }), h("section", { class: "panel" }, list));
  let logs = null;
  if (arg) {
    logs = new LogView(rpc, arg);
    root.append(logs.el);
  }
  const load = async () => {
    const res = await rpc.call("module.list");
    const mods = res.modules || [];
    for (const m of mods) sample(m);
    draw(list, mods, rpc, arg, () => refresh());
  };
  const refresh = debounce(150, () => load().catch(() => {}));
  const stop = every(2000, load);
  let sub = null;
  rpc.subscribe("events.subscribe", { pattern: "module.>" }, refresh).then((s) => (sub = s), () => {});
  return () => {
    stop();
    refresh.cancel();
    if (sub) sub.close();
    if (logs) logs.close();
  };
}

function sample(m) {
  let hs = history.get(m.name);
  if (!hs) history.set(m.name, (hs = { cpu: [], rss: [] }));
  hs.cpu.push(Number(m.cpu_percent) || 0);
  hs.rss.push(Number(m.rss_bytes) || 0);
  if (hs.cpu.length > keep) hs.cpu.shift();
  if (hs.rss.length > keep) hs.rss.shift();
}

function draw(box, mods, rpc, selected, refresh) {
  const action = (m, verb) =>
    h("button", {
      type: "button",
      class: verb === "stop" ? "danger" : null,
      "data-action": verb,
      "data-module": m.name,
      text: verb,
      onclick: async () => {
        if (!(await confirmDialog(`${verb[0].toUpperCase() + verb.slice(1)} module ${m.name}?`, verb))) return;
        await act(`${verb} ${m.name}`, () => rpc.call("module." + verb, { module: m.name }));
        refresh();
      },
    });
  const cols = [
    { label: "Module", cell: (m) => h("a", { href: "#/modules/" + encodeURIComponent(m.name), "aria-current": m.name === selected ? "true" : null, text: m.name }) },
    { label: "Type", cell: (m) => m.type },
    { label: "State", cell: (m) => h("span", { "data-state-of": m.name }, stateBadge(m.state)) },
    { label: "PID", num: true, cell: (m) => (m.pid ? String(m.pid) : "") },
    { label: "Uptime", num: true, cell: (m) => (m.state === "running" ? duration(m.uptime_seconds) : "") },
    { label: "Restarts", num: true, cell: (m) => String(m.restarts || 0) },
    { label: "CPU", cell: (m) => h("span", null, sparkline(history.get(m.name).cpu, "CPU of " + m.name), " " + num(m.cpu_percent, 1) + " %") },
    { label: "RSS", cell: (m) => h("span", null, sparkline(history.get(m.name).rss, "RSS of " + m.name), " " + bytes(m.rss_bytes)) },
    { label: "Last error", cell: (m) => h("span", { class: "down", text: m.last_error || "" }) },
    { label: "Actions", cell: (m) => h("span", { class: "row" }, action(m, "start"), action(m, "stop"), action(m, "restart")) },
  ];
  redraw(box, table(cols, mods, "no module configured"));
}
