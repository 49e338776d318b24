// Binance's official connector (@binance/connector) against the simulated exchange:
// WebsocketStream (raw and combined streams, live SUBSCRIBE/UNSUBSCRIBE) and
// WebsocketAPI (market data, signed trading and account methods), with only wsURL set.
//
// Run by wsclients_test.go: SIM_WS=ws://127.0.0.1:PORT SIM_KEY=... SIM_SECRET=... node
// ws_connector.mjs. Prints one JSON line per check and exits 1 on the first failure.
import assert from 'node:assert/strict';
import { Console } from 'node:console';
import connector from '@binance/connector';

const { WebsocketStream, WebsocketAPI } = connector;
const { SIM_WS, SIM_KEY, SIM_SECRET } = process.env;
const logger = new Console({ stdout: process.stderr, stderr: process.stderr }); // stdout carries the results

// Inbox collects parsed messages and hands out the first one matching a predicate.
class Inbox {
    constructor() { this.msgs = []; this.waiters = []; }
    push(raw) {
        const m = JSON.parse(raw);
        const w = this.waiters.find((x) => x.pred(m));
        if (w) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(m);
        } else {
            this.msgs.push(m);
            if (this.msgs.length > 10000) this.msgs.shift();
        }
    }
    next(pred, what, ms = 10000) {
        const i = this.msgs.findIndex(pred);
        if (i >= 0) return Promise.resolve(this.msgs.splice(i, 1)[0]);
        return new Promise((resolve, reject) => {
            const w = { pred, resolve };
            this.waiters.push(w);
            setTimeout(() => {
                const j = this.waiters.indexOf(w);
                if (j >= 0) {
                    this.waiters.splice(j, 1);
                    reject(new Error(what + ': nothing in ' + ms + ' ms'));
                }
            }, ms).unref();
        });
    }
}

function opened() {
    let resolve;
    const p = new Promise((r) => { resolve = r; });
    return { p, resolve };
}

const isDecimal = (s) => typeof s === 'string' && /^[0-9]+\.[0-9]+$/.test(s);
const clients = [];

const checks = {
    async rawStream() {
        const inbox = new Inbox();
        const open = opened();
        const ws = new WebsocketStream({ logger, wsURL: SIM_WS, callbacks: { open: open.resolve, message: (d) => inbox.push(d) } });
        clients.push(ws);
        ws.aggTrade('BTCUSDT'); // dials /ws/btcusdt@aggTrade
        await open.p;
        const a = await inbox.next((m) => m.e === 'aggTrade', 'aggTrade');
        assert.ok(a.s === 'BTCUSDT' && isDecimal(a.p) && isDecimal(a.q) && a.f === a.a && a.l === a.a, JSON.stringify(a));
        // one SUBSCRIBE for the rest (Binance allows 5 incoming messages a second)
        ws.subscribe(['ethusdt@ticker', '!miniTicker@arr', 'btcusdt@kline_1m', 'bnbusdt@trade', 'btcusdt@bookTicker',
            'btcusdt@depth@100ms', 'solusdt@avgPrice']);
        const ack = await inbox.next((m) => 'result' in m, 'SUBSCRIBE answer');
        assert.equal(ack.result, null);
        const t = await inbox.next((m) => m.e === '24hrTicker', '24hrTicker');
        assert.ok(t.s === 'ETHUSDT' && isDecimal(t.c) && isDecimal(t.b) && isDecimal(t.a) && Number.isInteger(t.n), JSON.stringify(t));
        const arr = await inbox.next((m) => Array.isArray(m), '!miniTicker@arr');
        assert.ok(arr.length >= 1 && arr[0].e === '24hrMiniTicker' && isDecimal(arr[0].c), JSON.stringify(arr));
        const k = await inbox.next((m) => m.e === 'kline', 'kline');
        assert.ok(k.k.i === '1m' && isDecimal(k.k.o) && typeof k.k.x === 'boolean', JSON.stringify(k));
        await inbox.next((m) => m.e === 'trade' && m.s === 'BNBUSDT', 'trade');
        const bt = await inbox.next((m) => m.u !== undefined && m.b !== undefined && m.e === undefined, 'bookTicker');
        assert.ok(Number(bt.b) < Number(bt.a), JSON.stringify(bt));
        const du = await inbox.next((m) => m.e === 'depthUpdate', 'depthUpdate');
        assert.ok(du.U <= du.u, JSON.stringify(du));
        const avg = await inbox.next((m) => m.e === 'avgPrice', 'avgPrice');
        assert.ok(avg.s === 'SOLUSDT' && avg.i === '5m' && isDecimal(avg.w), JSON.stringify(avg));
        ws.unsubscribe('ethusdt@ticker');
        await inbox.next((m) => 'result' in m, 'UNSUBSCRIBE answer');
        ws.disconnect();
        return { streams: 8 };
    },
    async combinedStream() {
        const inbox = new Inbox();
        const open = opened();
        const ws = new WebsocketStream({ logger, wsURL: SIM_WS, combinedStreams: true,
            callbacks: { open: open.resolve, message: (d) => inbox.push(d) } });
        clients.push(ws);
        ws.subscribe(['btcusdt@depth5', 'ethusdt@miniTicker']); // dials /stream?streams=…
        await open.p;
        const d5 = await inbox.next((m) => m.stream === 'btcusdt@depth5', 'depth5');
        assert.ok(d5.data.bids.length === 5 && d5.data.asks.length === 5 && d5.data.lastUpdateId > 0, JSON.stringify(d5));
        const mt = await inbox.next((m) => m.stream === 'ethusdt@miniTicker', 'miniTicker');
        assert.equal(mt.data.e, '24hrMiniTicker');
        ws.partialBookDepth('BNBUSDT', '10', '1000ms');
        await inbox.next((m) => 'result' in m, 'SUBSCRIBE answer');
        const d10 = await inbox.next((m) => m.stream === 'bnbusdt@depth10@1000ms', 'depth10');
        assert.equal(d10.data.bids.length, 10);
        ws.disconnect();
        return { streams: 3 };
    },
    async websocketAPI() {
        const inbox = new Inbox();
        const open = opened();
        const api = new WebsocketAPI(SIM_KEY, SIM_SECRET, { logger, wsURL: SIM_WS + '/ws-api/v3',
            callbacks: { open: open.resolve, message: (d) => inbox.push(d) } });
        clients.push(api);
        await open.p;
        let n = 0;
        const call = async (send, what) => {
            const id = 'c' + (++n);
            send(id);
            const r = await inbox.next((m) => m.id === id, what);
            assert.equal(r.status, 200, what + ': ' + JSON.stringify(r));
            assert.ok(Array.isArray(r.rateLimits), what + ': no rateLimits');
            return r.result;
        };
        await call((id) => api.ping({ id }), 'ping');
        const tm = await call((id) => api.time({ id }), 'time');
        assert.ok(tm.serverTime > 0);
        const info = await call((id) => api.exchangeInfo({ id, symbol: 'BTCUSDT' }), 'exchangeInfo');
        assert.equal(info.symbols[0].symbol, 'BTCUSDT');
        const ob = await call((id) => api.orderbook('BTCUSDT', { id, limit: 5 }), 'depth');
        assert.ok(ob.bids.length === 5 && isDecimal(ob.bids[0][0]), JSON.stringify(ob));
        const ks = await call((id) => api.klines('BTCUSDT', '1m', { id, limit: 2 }), 'klines');
        assert.ok(ks.length === 2 && isDecimal(ks[0][1]), JSON.stringify(ks));
        const prices = await call((id) => api.tickerPrice({ id, symbols: ['BTCUSDT', 'ETHUSDT'] }), 'ticker.price');
        assert.ok(prices.length === 2 && isDecimal(prices[1].price), JSON.stringify(prices));
        const day = await call((id) => api.ticker24hr({ id, symbol: 'ETHUSDT' }), 'ticker.24hr');
        assert.ok(isDecimal(day.lastPrice), JSON.stringify(day));
        const book = await call((id) => api.tickerBook({ id, symbol: 'BNBUSDT' }), 'ticker.book');
        assert.ok(Number(book.bidPrice) < Number(book.askPrice), JSON.stringify(book));
        await call((id) => api.testNewOrder('BTCUSDT', 'BUY', 'MARKET', { id, quantity: '0.001' }), 'order.test');
        const placed = await call((id) => api.newOrder('BTCUSDT', 'BUY', 'LIMIT',
            { id, price: '10000', quantity: '0.001', timeInForce: 'GTC', newClientOrderId: 'conn-1' }), 'order.place');
        assert.ok(placed.status === 'NEW' && placed.clientOrderId === 'conn-1', JSON.stringify(placed));
        const got = await call((id) => api.getOrder('BTCUSDT', { id, origClientOrderId: 'conn-1' }), 'order.status');
        assert.equal(got.orderId, placed.orderId);
        const open1 = await call((id) => api.openOrders('BTCUSDT', { id }), 'openOrders.status');
        assert.ok(open1.some((o) => o.orderId === placed.orderId), JSON.stringify(open1));
        const acct = await call((id) => api.account({ id }), 'account.status');
        assert.ok(acct.balances.some((b) => b.asset === 'USDT' && Number(b.locked) === 10), JSON.stringify(acct.balances));
        const canceled = await call((id) => api.cancelOrder('BTCUSDT', { id, orderId: placed.orderId }), 'order.cancel');
        assert.equal(canceled.status, 'CANCELED');
        const mkt = await call((id) => api.newOrder('BTCUSDT', 'SELL', 'MARKET', { id, quantity: '0.001' }), 'order.place market');
        assert.ok(mkt.status === 'FILLED' && mkt.fills.length > 0, JSON.stringify(mkt));
        const trades = await call((id) => api.myTrades('BTCUSDT', { id }), 'myTrades');
        assert.ok(trades.some((t) => t.orderId === mkt.orderId), JSON.stringify(trades));
        const hist = await call((id) => api.orderHistory('BTCUSDT', { id }), 'allOrders');
        assert.equal(hist.length, 2);
        const limits = await call((id) => api.orderLimit({ id }), 'account.rateLimits.orders');
        assert.ok(limits.some((l) => l.rateLimitType === 'ORDERS'), JSON.stringify(limits));
        // a failed request: Binance's error envelope
        const bad = 'c' + (++n);
        api.newOrder('BTCUSDT', 'BUY', 'LIMIT', { id: bad, price: '1000', quantity: '1000', timeInForce: 'GTC' });
        const r = await inbox.next((m) => m.id === bad, 'insufficient balance');
        assert.ok(r.status === 400 && r.error.code === -2010 && r.result === undefined, JSON.stringify(r));
        api.disconnect();
        return { calls: n, order: placed.orderId };
    },
};

let code = 0;
try {
    for (const [name, fn] of Object.entries(checks)) {
        const started = Date.now();
        const detail = await fn();
        console.log(JSON.stringify({ check: name, ok: true, ms: Date.now() - started, ...detail }));
    }
} catch (e) {
    console.log(JSON.stringify({ check: 'failed', ok: false, error: String(e && e.stack || e) }));
    code = 1;
}
for (const c of clients) {
    if (c.isConnected()) c.disconnect();
}
process.exit(code);
