// DOM and formatting helpers shared by the pages.

/**
 * h builds an element: attrs sets properties ("class", "text", "on<event>"
 * handlers, "data-*" and other attributes), children are nodes or strings.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "disabled" || k === "selected") el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/**
 * redraw replaces box's children with nodes, keeping the keyboard focus
 * on the element that stands where the focused one stood (same tag, text,
 * link and data attributes), so a live page does not throw a keyboard
 * user back to the top at each refresh.
 */
export function redraw(box, ...nodes) {
  const f = document.activeElement;
  const key = f && f !== box && box.contains(f) ? focusKey(f) : null;
  box.replaceChildren(...nodes);
  if (!key) return;
  for (const el of box.querySelectorAll(f.tagName)) {
    if (focusKey(el) === key) {
      el.focus();
      return;
    }
  }
}

function focusKey(el) {
  return [el.tagName, el.textContent, el.getAttribute("href") || "", JSON.stringify(Object.assign({}, el.dataset))].join("|");
}

/** clear removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** stateBadge is a span showing a state word, colored by class. */
export function stateBadge(state) {
  const s = String(state || "unknown").toLowerCase();
  return h("span", { class: "state " + s.replace(/[^a-z_-]/g, ""), text: s });
}

/** num formats a number (or a decimal string) with at most digits fraction digits. */
export function num(v, digits = 8) {
  const n = typeof v === "number" ? v : parseFloat(v);
  if (!isFinite(n)) return v === undefined || v === null || v === "" ? "" : String(v);
  const s = n.toLocaleString(undefined, { maximumFractionDigits: digits });
  return s === "-0" ? "0" : s;
}

/** bytes formats a byte count. */
export function bytes(n) {
  n = Number(n) || 0;
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return (i ? n.toFixed(1) : String(n)) + " " + u[i];
}

/** duration formats seconds as 3d 4h, 5h 6m, 7m 8s or 9s. */
export function duration(sec) {
  sec = Math.max(0, Math.floor(Number(sec) || 0));
  const d = Math.floor(sec / 86400), hh = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60), s = sec % 60;
  if (d) return d + "d " + hh + "h";
  if (hh) return hh + "h " + m + "m";
  if (m) return m + "m " + s + "s";
  return s + "s";
}

/** time formats a time (ms since the epoch, or an RFC 3339 string) locally. */
export function time(t) {
  if (t === undefined || t === null || t === "" || t === 0 || t === "0") return "";
  const d = typeof t === "number" || /^\d+$/.test(t) ? new Date(Number(t)) : new Date(t);
  if (isNaN(d)) return String(t);
  return d.toLocaleString(undefined, { hour12: false });
}

/** signClass is "up" for a positive value and "down" for a negative one. */
export function signClass(v) {
  const n = parseFloat(v);
  return n > 0 ? "up" : n < 0 ? "down" : "";
}

/** table builds a table from column specs {label, num, cell(row) -> node|string}. */
export function table(cols, rows, empty = "nothing yet") {
  const head = h("tr", null, cols.map((c) => h("th", { class: c.num ? "num" : null, scope: "col", text: c.label })));
  const body = rows.length
    ? rows.map((r) => h("tr", null, cols.map((c) => h("td", { class: c.num ? "num" : null, "data-label": c.label }, c.cell(r)))))
    : [h("tr", null, h("td", { colspan: cols.length, class: "muted empty", text: empty }))];
  return h("table", { class: "stack" }, h("thead", null, head), h("tbody", null, body));
}

/** toast shows a short message for a few seconds (kind "error" is red). */
export function toast(msg, kind) {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const t = h("div", { class: "toast " + (kind || ""), text: msg });
  box.append(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
}

/**
 * confirmDialog asks a yes/no question in a modal dialog and resolves true
 * on yes. With input (a label), it resolves the typed text instead (or null).
 */
export function confirmDialog(question, yes = "Confirm", input) {
  return new Promise((resolve) => {
    const field = input ? h("input", { type: "text", "aria-label": input, placeholder: input }) : null;
    const dlg = h("dialog", { "aria-label": question },
      h("form", { method: "dialog" },
        h("p", { text: question }),
        field ? h("p", null, field) : null,
        h("div", { class: "row" },
          h("button", { value: "no", type: "submit", text: "Cancel" }),
          h("button", { value: "yes", type: "submit", class: "primary", "data-confirm": "", text: yes }))));
    dlg.addEventListener("close", () => {
      const ok = dlg.returnValue === "yes";
      dlg.remove();
      resolve(input ? (ok ? field.value : null) : ok);
    });
    document.body.append(dlg);
    dlg.showModal();
    (field || dlg.querySelector("[data-confirm]")).focus();
  });
}

/** act runs an RPC action, reporting its error (or ok) in a toast. */
export async function act(label, fn) {
  try {
    const r = await fn();
    toast(label + ": done");
    return r;
  } catch (e) {
    toast(label + ": " + e.message, "error");
    return undefined;
  }
}

/** every runs fn now and every ms until the returned stop is called. */
export function every(ms, fn) {
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      await fn();
    } catch (_) {
      // A failed poll shows as stale data; the next one retries.
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** debounce calls fn at most once per ms, after the last call. */
export function debounce(ms, fn) {
  let timer;
  const d = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  d.cancel = () => clearTimeout(timer);
  return d;
}
