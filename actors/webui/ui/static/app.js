// The app: one RPC connection, hash routing between the pages.
import { RPC, rpcURL } from "./rpc.js";
import { h, clear } from "./util.js";

const pages = {
  overview: () => import("./pages/overview.js"),
  modules: () => import("./pages/modules.js"),
  market: () => import("./pages/market.js"),
  trading: () => import("./pages/trading.js"),
  scheduler: () => import("./pages/scheduler.js"),
  backtests: () => import("./pages/backtests.js"),
};

performance.mark("app-start");
const rpc = new RPC(rpcURL());
window.superbotRPC = rpc; // for the browser's console and the browser tests
const root = document.getElementById("page");
const conn = document.getElementById("conn");
let current = null; // the mounted page's cleanup
let seq = 0;

rpc.addEventListener("state", (e) => {
  conn.dataset.state = e.detail;
  if (e.detail === "open") conn.dataset.opens = String(Number(conn.dataset.opens || 0) + 1);
  conn.textContent = e.detail === "open" ? "live" : e.detail;
});
rpc.addEventListener("unauthorized", () => location.reload()); // no session: the server answers the login form

// route mounts the page the hash names: #/PAGE[/ARG].
async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const name = pages[parts[0]] ? parts[0] : "overview";
  const arg = parts.slice(1).map(decodeURIComponent).join("/");
  const my = ++seq;
  for (const a of document.querySelectorAll("nav.main a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (current) current();
  current = null;
  clear(root);
  let mod;
  try {
    mod = await pages[name]();
  } catch (e) {
    root.append(h("p", { class: "down", text: "cannot load the page: " + e.message }));
    return;
  }
  if (my !== seq) return; // another navigation started meanwhile
  root.dataset.page = name;
  current = mod.mount(root, { rpc, arg }) || null;
}

window.addEventListener("hashchange", route);
rpc.connect();
route();
