// Overview: the daemon (node, version, uptime), its supervision tree as
// daemon.status gives it, kept live, health and the alerts raised since the
// page opened.
import { h, clear, redraw, stateBadge, duration, time, every, debounce, bytes, num } from "../util.js";

const maxAlerts = 100;

/** mount draws the overview into root; it returns the cleanup. */
export function mount(root, { rpc }) {
  const info = h("dl", { class: "kv", id: "daemon-info" });
  const tree = h("ul", { class: "tree", id: "tree", "aria-label": "supervision tree" });
  const health = h("div", { id: "health" });
  const alerts = h("ul", { id: "alerts" }, h("li", { class: "muted", text: "no alert since the page opened" }));
  root.append(
    h("h1", { text: "Overview" }),
    h("div", { class: "grid" },
      h("section", { class: "panel" }, h("h2", { text: "Daemon" }), info),
      h("section", { class: "panel" }, h("h2", { text: "Health" }), health)),
    h("section", { class: "panel" }, h("h2", { text: "Supervision tree" }), tree),
    h("section", { class: "panel" }, h("h2", { text: "Alerts" }), alerts));

  let status = null;
  let fetchedAt = 0;
  let drawn = false;
  let later = () => {}; // what starts once the tree is drawn
  const load = async () => {
    const st = await rpc.call("daemon.status");
    if (!drawn) performance.mark("status-answered");
    status = st;
    fetchedAt = performance.now();
    drawTree(tree, st.tree || []);
    if (!drawn) {
      drawn = true;
      tree.dataset.ready = "true";
      performance.mark("tree-drawn");
      later();
    }
    drawInfo(info, st, 0);
  };
  const refresh = debounce(200, () => load().catch(() => {}));
  const stopPoll = every(5000, load);
  const tick = setInterval(() => status && drawInfo(info, status, (performance.now() - fetchedAt) / 1000), 1000);
  // The health, the alerts and the tree's events wait for the first
  // render: the tree comes first.
  let stopHealth = () => {};
  const subs = [];
  let closed = false;
  later = () => {
    if (closed) return;
    stopHealth = every(10000, async () => drawHealth(health, await rpc.call("monitoring.health"), await resources(rpc)));
    const keep = (s) => (closed ? s.close() : subs.push(s));
    rpc.subscribe("events.subscribe", { pattern: "module.>" }, refresh).then(keep, () => {});
    rpc.subscribe("events.subscribe", { pattern: "alert.>" }, (ev) => addAlert(alerts, ev)).then(keep, () => {});
  };
  return () => {
    closed = true;
    stopPoll();
    stopHealth();
    clearInterval(tick);
    refresh.cancel();
    for (const s of subs) s.close();
  };
}

async function resources(rpc) {
  try {
    return (await rpc.call("monitoring.resources")).daemon;
  } catch (_) {
    return null;
  }
}

function drawInfo(dl, st, extra) {
  const rows = [
    ["Node", st.node], ["Version", st.version], ["State", stateBadge(st.state)],
    ["Uptime", duration((st.uptime_seconds || 0) + extra)], ["PID", st.pid],
    ["Started", time(st.started_at)], ["Config", st.config_source],
  ];
  const win = st.details && st.details.scheduler;
  if (win) rows.push(["Trading window", win.enabled ? win.state + (win.next_open_local ? ", opens " + win.next_open_local : "") : "off"]);
  clear(dl);
  for (const [k, v] of rows) dl.append(h("dt", { text: k }), h("dd", { "data-key": k.toLowerCase() }, v));
}

function drawHealth(box, hl, res) {
  clear(box);
  box.append(h("p", null, "Overall: ", stateBadge(hl.healthy ? "ok" : "error")));
  const bad = (hl.components || []).filter((c) => !c.healthy);
  if (bad.length) box.append(h("ul", null, bad.map((c) => h("li", null, h("strong", { text: c.name }), ": " + c.error))));
  if (res) {
    box.append(h("dl", { class: "kv" },
      h("dt", { text: "CPU" }), h("dd", { text: num(res.cpu_percent, 1) + " %" }),
      h("dt", { text: "RSS" }), h("dd", { text: bytes(res.rss_bytes) }),
      h("dt", { text: "Goroutines" }), h("dd", { text: res.goroutines })));
  }
}

// drawTree replaces the tree's items with nodes (children nested).
function drawTree(ul, nodes) {
  const frag = document.createDocumentFragment();
  for (const n of nodes) frag.append(treeItem(n, false));
  redraw(ul, frag);
}

function treeItem(n, isModule) {
  const label = isModule
    ? h("a", { href: "#/modules/" + encodeURIComponent(n.name), text: n.name })
    : h("strong", { text: n.name });
  const line = h("span", { class: "node", "data-node": n.name, "data-state": n.state },
    label, stateBadge(n.state),
    n.restarts ? h("span", { class: "muted", text: n.restarts + " restarts" }) : null,
    n.last_error ? h("span", { class: "down", text: n.last_error }) : null);
  const li = h("li", null, line);
  const kids = n.children || [];
  if (kids.length) {
    const sub = h("ul");
    for (const c of kids) sub.append(treeItem(c, n.name === "modules"));
    li.append(sub);
  }
  return li;
}

function addAlert(ul, ev) {
  if (ul.firstChild && ul.firstChild.classList.contains("muted")) clear(ul);
  const p = ev.payload || {};
  const what = p.message || p.reason || (p.state ? "state " + p.state : "") || JSON.stringify(p);
  const text = (p.module ? p.module + ": " : "") + what;
  ul.prepend(h("li", null, h("span", { class: "muted", text: time(ev.time) + " " }), h("strong", { text: ev.topic }), " " + text));
  while (ul.children.length > maxAlerts) ul.lastChild.remove();
}
