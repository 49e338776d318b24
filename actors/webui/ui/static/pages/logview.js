// LogView: a module's live log (logs.stream): follow, pause, search and a
// level filter.
import { h, clear, time } from "../util.js";

const maxLines = 5000;
const levels = ["debug", "info", "warn", "error"];

/** levelOf guesses a log line's level from its text. */
export function levelOf(text) {
  if (/\b(ERR|ERROR|FATAL|CRITICAL|PANIC)\b/i.test(text)) return "error";
  if (/\b(WRN|WARN|WARNING)\b/i.test(text)) return "warn";
  if (/\b(DBG|DEBUG|TRACE)\b/i.test(text)) return "debug";
  return "info";
}

/** LogView shows one module's log lines as they come. */
export class LogView {
  constructor(rpc, module) {
    this.rpc = rpc;
    this.module = module;
    this.lines = [];
    this.held = []; // lines that came while paused
    this.paused = false;
    this.sub = null;
    this.closed = false;
    this.out = h("div", { class: "log", id: "log", role: "log", "aria-live": "off", tabindex: "0", "aria-label": "log of " + module });
    this.follow = h("input", { type: "checkbox", id: "log-follow", checked: true });
    this.pauseBtn = h("button", { type: "button", id: "log-pause", "aria-pressed": "false", text: "Pause", onclick: () => this.togglePause() });
    this.search = h("input", { type: "search", id: "log-search", placeholder: "search", "aria-label": "search the log", oninput: () => this.redraw() });
    this.level = h("select", { id: "log-level", "aria-label": "lowest level shown", onchange: () => this.redraw() },
      levels.map((l) => h("option", { value: l, text: l + "+", selected: l === "debug" })));
    this.info = h("span", { class: "muted", id: "log-info" });
    this.el = h("section", { class: "panel", id: "logview" },
      h("h2", { text: "Log: " + module }),
      h("div", { class: "row" },
        h("label", null, this.follow, " follow"), this.pauseBtn, this.search, this.level, this.info),
      this.out);
    this.start();
  }

  async start() {
    try {
      this.sub = await this.rpc.subscribe("logs.stream", { module: this.module, lines: 200 }, (l) => this.add(l));
      this.sub.onResubscribe = () => {
        this.lines = []; // the tail comes again
        this.redraw();
      };
      if (this.closed) this.sub.close();
    } catch (e) {
      this.info.textContent = "cannot follow the log: " + e.message;
    }
  }

  close() {
    this.closed = true;
    if (this.sub) this.sub.close();
  }

  add(l) {
    const e = { time: l.time, stream: l.stream, text: l.line || "", level: levelOf(l.line || "") };
    if (this.paused) {
      this.held.push(e);
      if (this.held.length > maxLines) this.held.shift();
      this.info.textContent = this.held.length + " new lines held";
      return;
    }
    this.push(e);
    if (this.visible(e)) {
      this.out.append(this.row(e));
      if (this.out.childElementCount > maxLines) this.out.firstChild.remove();
      this.scroll();
    }
  }

  push(e) {
    this.lines.push(e);
    if (this.lines.length > maxLines) this.lines.shift();
  }

  togglePause() {
    this.paused = !this.paused;
    this.pauseBtn.textContent = this.paused ? "Resume" : "Pause";
    this.pauseBtn.setAttribute("aria-pressed", String(this.paused));
    if (!this.paused) {
      for (const e of this.held) this.push(e);
      this.held = [];
      this.info.textContent = "";
      this.redraw();
    }
  }

  visible(e) {
    if (levels.indexOf(e.level) < levels.indexOf(this.level.value)) return false;
    const q = this.search.value.toLowerCase();
    return !q || e.text.toLowerCase().includes(q);
  }

  row(e) {
    const div = h("div", { class: "l-" + e.level }, h("span", { class: "muted", text: time(e.time) + " " }));
    const q = this.search.value;
    if (!q) {
      div.append(e.text);
      return div;
    }
    // Highlight the matches (case-insensitive), as text nodes only.
    const low = e.text.toLowerCase(), ql = q.toLowerCase();
    let i = 0;
    for (let j = low.indexOf(ql); j >= 0; j = low.indexOf(ql, i)) {
      div.append(e.text.slice(i, j), h("mark", { text: e.text.slice(j, j + q.length) }));
      i = j + q.length;
    }
    div.append(e.text.slice(i));
    return div;
  }

  redraw() {
    const frag = document.createDocumentFragment();
    let n = 0;
    for (const e of this.lines) {
      if (this.visible(e)) {
        frag.append(this.row(e));
        n++;
      }
    }
    clear(this.out).append(frag);
    if (!this.paused) this.info.textContent = this.search.value ? n + " matching lines" : "";
    this.scroll();
  }

  scroll() {
    if (this.follow.checked) this.out.scrollTop = this.out.scrollHeight;
  }
}
