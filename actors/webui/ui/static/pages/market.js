// Market: tickers of the symbols the daemon streams, updated live from
// price.> events, and a candlestick chart with volume (market.klines).
import { h, clear, num, act, every, signClass, toast } from "../util.js";
import { candleChart } from "../charts.js";

const intervals = ["1m", "5m", "15m", "1h", "4h", "1d"];

/** mount draws the market page into root; it returns the cleanup. */
export function mount(root, { rpc, arg }) {
  const tickers = h("div", { class: "tickers", id: "tickers" });
  const symIn = h("input", { type: "text", id: "watch-symbol", placeholder: "BTCUSDT", "aria-label": "symbol to watch", autocomplete: "off" });
  const watchForm = h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); watch(symIn.value); } },
    symIn, h("button", { type: "submit", id: "watch", text: "Watch" }));
  const chartSym = h("select", { id: "chart-symbol", "aria-label": "chart symbol", onchange: () => loadChart() });
  const chartIv = h("select", { id: "chart-interval", "aria-label": "chart interval", onchange: () => loadChart() },
    intervals.map((i) => h("option", { value: i, text: i })));
  const canvas = h("canvas", { class: "chart", id: "candles", role: "img", "aria-label": "candlestick chart" });
  root.append(
    h("h1", { text: "Market" }),
    h("section", { class: "panel" }, h("h2", { text: "Tickers" }), watchForm, tickers),
    h("section", { class: "panel" }, h("h2", { text: "Candles" }), h("div", { class: "row" }, chartSym, chartIv), canvas));

  const cards = new Map(); // symbol -> {el, px, chg, last, ticks}
  let candles = [];
  let dirty = false;

  const card = (sym) => {
    let c = cards.get(sym);
    if (c) return c;
    const px = h("div", { class: "px", text: "…" });
    const chg = h("div", { class: "muted" });
    const el = h("div", { class: "ticker", "data-symbol": sym, "data-ticks": "0" },
      h("div", { class: "row" }, h("strong", { text: sym }),
        h("button", { type: "button", text: "Unwatch", "aria-label": "stop watching " + sym, onclick: () => unwatch(sym) })),
      px, chg);
    c = { el, px, chg, last: NaN, ticks: 0 };
    cards.set(sym, c);
    tickers.append(el);
    if (![...chartSym.options].some((o) => o.value === sym)) chartSym.append(h("option", { value: sym, text: sym, selected: sym === arg }));
    if (chartSym.options.length === 1 || sym === arg) loadChart();
    return c;
  };

  const onPrice = (ev) => {
    const p = ev.payload || {};
    if (!p.symbol) return;
    const c = card(p.symbol);
    const v = parseFloat(p.price);
    c.px.className = "px " + (v > c.last ? "up" : v < c.last ? "down" : "");
    c.px.textContent = num(v);
    c.last = v;
    c.ticks++;
    c.el.dataset.ticks = String(c.ticks);
    if (p.symbol === chartSym.value && candles.length) {
      const k = candles[candles.length - 1];
      k.close = p.price;
      if (v > +k.high) k.high = p.price;
      if (v < +k.low) k.low = p.price;
      dirty = true;
    }
  };

  const loadStreams = async () => {
    const st = await rpc.call("connector.status");
    for (const s of st.streams || []) if (s.kind === "STREAM_KIND_PRICE") card(s.symbol);
  };
  const loadTickers = async () => {
    for (const [sym, c] of cards) {
      const t = await rpc.call("market.ticker", { symbol: sym });
      c.chg.className = signClass(t.price_change_percent);
      c.chg.textContent = "24 h " + num(t.price_change_percent, 2) + " %, vol " + num(t.volume, 2);
      if (!c.ticks) c.px.textContent = num(t.last_price);
    }
  };
  async function loadChart() {
    if (!chartSym.value) return;
    try {
      const r = await rpc.call("market.klines", { symbol: chartSym.value, interval: chartIv.value, limit: 120 });
      candles = r.klines || [];
      candleChart(canvas, candles);
    } catch (e) {
      toast("candles: " + e.message, "error");
    }
  }
  async function watch(sym) {
    sym = sym.trim().toUpperCase();
    if (!/^[A-Z0-9]{2,20}$/.test(sym)) {
      toast("not a symbol: " + sym, "error");
      return;
    }
    if (await act("watch " + sym, () => rpc.call("market.subscribe", { symbol: sym, kind: "STREAM_KIND_PRICE" }))) {
      card(sym);
      loadTickers().catch(() => {});
      symIn.value = "";
    }
  }
  async function unwatch(sym) {
    const ok = await act("unwatch " + sym, () => rpc.call("market.unsubscribe", { symbol: sym, kind: "STREAM_KIND_PRICE" }));
    if (ok === undefined) return; // refused (e.g. a strategy's stream): the card stays
    const c = cards.get(sym);
    if (c) c.el.remove();
    cards.delete(sym);
  }

  let sub = null;
  rpc.subscribe("events.subscribe", { pattern: "price.>" }, onPrice).then((s) => (sub = s), () => {});
  const stopStreams = every(15000, async () => {
    await loadStreams();
    await loadTickers();
  });
  const stopChart = every(10000, loadChart);
  const redraw = setInterval(() => {
    if (dirty) {
      dirty = false;
      candleChart(canvas, candles);
    }
  }, 1000);
  const onResize = () => candleChart(canvas, candles);
  window.addEventListener("resize", onResize);
  return () => {
    stopStreams();
    stopChart();
    clearInterval(redraw);
    window.removeEventListener("resize", onResize);
    if (sub) sub.close();
    clear(tickers);
  };
}
