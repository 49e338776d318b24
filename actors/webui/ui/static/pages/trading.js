// Trading: the gate (halt / resume), balances, each strategy's book,
// positions, open orders (cancel), fills and the account's PnL curve
// (replayed from the fills, ending with trading.pnl's total now).
import { h, redraw, stateBadge, num, time, table, confirmDialog, act, every, debounce, signClass } from "../util.js";
import { lineChart } from "../charts.js";

const curveFills = 1000; // fills the PnL curve is drawn from

/** mount draws the trading page into root; it returns the cleanup. */
export function mount(root, { rpc }) {
  const gate = h("div", { id: "gate" });
  const balances = h("div", { id: "balances" });
  const books = h("div", { id: "books" });
  const positions = h("div", { id: "positions" });
  const orders = h("div", { id: "orders" });
  const fills = h("div", { id: "fills" });
  const canvas = h("canvas", { class: "chart small", id: "pnl", role: "img", "aria-label": "the account's PnL over its fills" });
  const curveNote = h("p", { class: "muted", id: "pnl-note" });
  const panel = (title, el) => h("section", { class: "panel" }, h("h2", { text: title }), el);
  root.append(h("h1", { text: "Trading" }),
    h("div", { class: "grid" }, panel("Gate", gate), panel("Balances", balances)),
    panel("Strategies", books), panel("PnL (account)", h("div", null, canvas, curveNote)),
    panel("Positions", positions), panel("Open orders", orders), panel("Recent fills", fills));

  const errors = h("p", { class: "down", id: "trading-errors" });
  gate.before(errors);
  const load = async () => {
    const failed = [];
    const get = (m, p) => rpc.call(m, p).catch((e) => {
      failed.push(m + ": " + e.message);
      return {};
    });
    const [st, bal, strat, pos, open, fl, pl] = await Promise.all([
      get("trading.reconcile"), get("trading.balance"), get("trading.strategies"),
      get("trading.positions"), get("trading.orders", { status: "open", limit: 200 }),
      get("trading.fills", { limit: curveFills }), get("trading.pnl"),
    ]);
    errors.textContent = failed.join("; ");
    drawGate(gate, st.state || {}, rpc, refresh);
    drawBalances(balances, bal);
    drawBooks(books, strat.strategies || [], bal.strategies || [], rpc, refresh);
    redraw(positions, positionTable(pos.positions || []));
    const byBook = (a, b) => a.strategy.localeCompare(b.strategy) || a.symbol.localeCompare(b.symbol) ||
      a.side.localeCompare(b.side) || (parseFloat(b.price) || 0) - (parseFloat(a.price) || 0);
    redraw(orders, orderTable((open.orders || []).slice().sort(byBook), rpc, refresh));
    const fs = fl.fills || [];
    redraw(fills, fillTable(fs.slice(0, 50)));
    const curve = pnlCurve(fs);
    const a = pl.account;
    if (a) {
      const now = (parseFloat(a.realized_pnl) || 0) + (parseFloat(a.unrealized_pnl) || 0) - (parseFloat(a.fees) || 0);
      curve.push({ t: Date.now(), v: now });
    }
    lineChart(canvas, curve);
    curveNote.textContent = "Realised PnL less fees after each fill (average cost, " +
      (fs.length >= curveFills ? "the last " + curveFills + " fills" : "all fills") + "), then now with the unrealised PnL.";
  };
  const refresh = debounce(300, () => load().catch(() => {}));
  const stop = every(5000, load);
  const subs = [];
  for (const pattern of ["order.>", "fill.>", "risk.>", "trading.>"]) {
    rpc.subscribe("events.subscribe", { pattern }, refresh).then((s) => subs.push(s), () => {});
  }
  return () => {
    stop();
    refresh.cancel();
    for (const s of subs) s.close();
  };
}

/**
 * pnlCurve replays fills (newest first, as trading.fills answers) oldest
 * first at average cost per strategy and symbol: the account's realised
 * PnL less fees after each fill.
 */
export function pnlCurve(fills) {
  const books = new Map(); // strategy|symbol -> {q, avg}
  let total = 0;
  const out = [];
  for (const f of fills.slice().reverse()) {
    const key = f.strategy + "|" + f.symbol;
    let b = books.get(key);
    if (!b) books.set(key, (b = { q: 0, avg: 0 }));
    const q = parseFloat(f.quantity) || 0, px = parseFloat(f.price) || 0, fee = parseFloat(f.fee) || 0;
    // A fee in the base asset is worth its quantity at the fill's price.
    total -= f.fee_asset && f.symbol.endsWith(f.fee_asset) ? fee : fee * px;
    if (f.side === "BUY") {
      b.avg = b.q + q > 0 ? (b.avg * b.q + px * q) / (b.q + q) : 0;
      b.q += q;
    } else {
      const closed = Math.min(q, b.q);
      total += (px - b.avg) * closed;
      b.q -= closed;
    }
    out.push({ t: Number(f.time_ms), v: total });
  }
  return out;
}

function drawGate(box, st, rpc, refresh) {
  const halted = st.gate === "halted";
  redraw(box,
    h("dl", { class: "kv" },
      h("dt", { text: "Mode" }), h("dd", { text: st.mode || "" }),
      h("dt", { text: "Gate" }), h("dd", { id: "gate-state" }, stateBadge(st.gate || "unknown")),
      halted ? [h("dt", { text: "Reason" }), h("dd", { text: st.halted_reason })] : null,
      h("dt", { text: "Since" }), h("dd", { text: time(st.since_ms) }),
      h("dt", { text: "Open orders" }), h("dd", { text: String(st.open_orders || 0) }),
      h("dt", { text: "In flight" }), h("dd", { text: String(st.in_flight || 0) })),
    h("div", { class: "row" },
      h("button", {
        type: "button", class: "danger", id: "halt", text: "Halt trading", disabled: halted,
        onclick: async () => {
          const reason = await confirmDialog("Halt all new orders? Give a reason:", "Halt", "reason");
          if (reason === null) return;
          await act("halt", () => rpc.call("trading.halt", { reason: reason || "halted from the web UI" }));
          refresh();
        },
      }),
      h("button", {
        type: "button", id: "resume", text: "Resume trading", disabled: !halted,
        onclick: async () => {
          if (!(await confirmDialog("Resume trading?", "Resume"))) return;
          await act("resume", () => rpc.call("trading.resume", {}));
          refresh();
        },
      })));
}

function drawBalances(box, bal) {
  redraw(box,
    h("p", { class: "muted", text: "mode " + (bal.mode || "") + (bal.updated_ms ? ", as of " + time(bal.updated_ms) : "") }),
    table([
      { label: "Asset", cell: (b) => b.asset },
      { label: "Free", num: true, cell: (b) => num(b.free) },
      { label: "Locked", num: true, cell: (b) => num(b.locked) },
    ], bal.balances || [], "no balance"));
}

function drawBooks(box, strats, bookRows, rpc, refresh) {
  const book = new Map(bookRows.map((b) => [b.strategy, b]));
  const money = (k) => (s) => {
    const v = (book.get(s.name) || {})[k];
    return h("span", { class: signClass(v), text: num(v, 4) });
  };
  redraw(box, table([
    { label: "Strategy", cell: (s) => s.name },
    { label: "Kind", cell: (s) => s.kind },
    { label: "Symbol", cell: (s) => s.symbol + " " + s.interval },
    { label: "State", cell: (s) => stateBadge(s.state) },
    { label: "Allocation", cell: (s) => s.allocation },
    { label: "Used", num: true, cell: (s) => num((book.get(s.name) || {}).used, 4) },
    { label: "Realised", num: true, cell: money("realized_pnl") },
    { label: "Unrealised", num: true, cell: money("unrealized_pnl") },
    { label: "Fees", num: true, cell: (s) => num((book.get(s.name) || {}).fees, 4) },
    { label: "Orders", num: true, cell: (s) => String(s.orders || 0) },
    { label: "Halted", cell: (s) => {
      const why = s.halted_reason || (book.get(s.name) || {}).halted;
      if (!why) return "";
      return h("span", null, h("span", { class: "down", text: why + " " }),
        h("button", { type: "button", text: "Resume", onclick: async () => {
          if (!(await confirmDialog(`Lift ${s.name}'s halt?`, "Resume"))) return;
          await act("resume " + s.name, () => rpc.call("trading.resume", { strategy: s.name }));
          refresh();
        } }));
    } },
  ], strats, "no strategy configured"));
}

function positionTable(rows) {
  return table([
    { label: "Strategy", cell: (p) => p.strategy },
    { label: "Symbol", cell: (p) => p.symbol },
    { label: "Quantity", num: true, cell: (p) => num(p.quantity) },
    { label: "Avg price", num: true, cell: (p) => num(p.avg_price) },
    { label: "Last", num: true, cell: (p) => num(p.last_price) },
    { label: "Realised", num: true, cell: (p) => h("span", { class: signClass(p.realized_pnl), text: num(p.realized_pnl, 4) }) },
    { label: "Unrealised", num: true, cell: (p) => h("span", { class: signClass(p.unrealized_pnl), text: num(p.unrealized_pnl, 4) }) },
  ], rows, "no position");
}

function orderTable(rows, rpc, refresh) {
  return table([
    { label: "Created", cell: (o) => time(o.created_ms) },
    { label: "Strategy", cell: (o) => o.strategy },
    { label: "Symbol", cell: (o) => o.symbol },
    { label: "Side", cell: (o) => h("span", { class: o.side === "BUY" ? "up" : "down", text: o.side }) },
    { label: "Type", cell: (o) => o.type },
    { label: "Price", num: true, cell: (o) => num(o.price) },
    { label: "Quantity", num: true, cell: (o) => num(o.quantity) },
    { label: "Filled", num: true, cell: (o) => num(o.executed_qty) },
    { label: "Status", cell: (o) => String(o.status || "").replace("TRADE_ORDER_STATUS_", "").toLowerCase() },
    { label: "", cell: (o) => h("button", {
      type: "button", class: "danger", "data-cancel": o.client_order_id, text: "Cancel",
      onclick: async () => {
        if (!(await confirmDialog(`Cancel order ${o.client_order_id}?`, "Cancel order"))) return;
        await act("cancel " + o.client_order_id, () => rpc.call("trading.order.cancel", { client_order_id: o.client_order_id }));
        refresh();
      },
    }) },
  ], rows, "no open order");
}

function fillTable(rows) {
  return table([
    { label: "Time", cell: (f) => time(f.time_ms) },
    { label: "Strategy", cell: (f) => f.strategy },
    { label: "Symbol", cell: (f) => f.symbol },
    { label: "Side", cell: (f) => h("span", { class: f.side === "BUY" ? "up" : "down", text: f.side }) },
    { label: "Price", num: true, cell: (f) => num(f.price) },
    { label: "Quantity", num: true, cell: (f) => num(f.quantity) },
    { label: "Fee", num: true, cell: (f) => num(f.fee) + " " + (f.fee_asset || "") },
  ], rows, "no fill");
}
