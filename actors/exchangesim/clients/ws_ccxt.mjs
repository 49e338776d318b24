// ccxt.pro against the simulated exchange over WebSocket: market watches, user data
// watches and the WebSocket API methods, with nothing changed but the URLs (and the
// options a user of a Binance spot-only account sets).
//
// Run by wsclients_test.go: SIM_HTTP=http://127.0.0.1:PORT SIM_WS=ws://127.0.0.1:PORT
// SIM_KEY=... SIM_SECRET=... node ws_ccxt.mjs. Prints one JSON line per check and exits 1 on
// the first failure.
//
// One call besides the URLs: ccxt in Node refuses plain ws:// URLs until
// loadHttpProxyAgent() has run once (its NotSupported error says so); the simulator
// serves ws://, not wss://.
import assert from 'node:assert/strict';
import ccxt from 'ccxt';

const { SIM_HTTP, SIM_WS, SIM_KEY, SIM_SECRET } = process.env;

const ex = new ccxt.pro.binance({
    apiKey: SIM_KEY,
    secret: SIM_SECRET,
    urls: {
        api: {
            public: SIM_HTTP + '/api/v3',
            private: SIM_HTTP + '/api/v3',
            v1: SIM_HTTP + '/api/v1',
            sapi: SIM_HTTP + '/sapi/v1',
            ws: {
                spot: SIM_WS + '/ws',
                'ws-api': { spot: SIM_WS + '/ws-api/v3' },
            },
        },
    },
    options: {
        defaultType: 'spot',
        fetchMarkets: { types: ['spot'] },
    },
});

function within(ms, what, p) {
    let timer;
    const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what + ': no answer in ' + ms + ' ms')), ms); });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function report(check, detail) {
    console.log(JSON.stringify({ check, ...detail }));
}

const checks = {
    async watchTicker() { // ccxt's default: @miniTicker
        const t = await ex.watchTicker('BTC/USDT');
        assert.equal(t.symbol, 'BTC/USDT');
        assert.ok(t.last > 0 && t.open > 0 && t.baseVolume > 0 && t.info.e === '24hrMiniTicker', JSON.stringify(t));
        return { last: t.last };
    },
    async watchTickerFull() { // name 'ticker': @ticker, with the best bid and ask
        const t = await ex.watchTicker('ETH/USDT', { name: 'ticker' });
        assert.equal(t.symbol, 'ETH/USDT');
        assert.ok(t.last > 0 && t.bid > 0 && t.ask > t.bid && t.baseVolume > 0 && t.info.e === '24hrTicker', JSON.stringify(t));
        return { last: t.last, bid: t.bid, ask: t.ask };
    },
    async watchTickers() {
        const seen = new Set();
        while (seen.size < 2) {
            const ts = await ex.watchTickers(['BTC/USDT', 'ETH/USDT']);
            for (const s of Object.keys(ts)) {
                assert.ok(ts[s].last > 0, JSON.stringify(ts[s]));
                seen.add(s);
            }
        }
        return { symbols: [...seen].sort() };
    },
    async watchTickersAll() { // no symbols: !miniTicker@arr
        const ts = await ex.watchTickers();
        const syms = Object.keys(ts);
        assert.ok(syms.length >= 1 && syms.every((s) => ts[s].last > 0), JSON.stringify(ts));
        return { symbols: syms.length };
    },
    async watchOrderBook() {
        let ob = await ex.watchOrderBook('BTC/USDT');
        const first = ob.nonce;
        for (let i = 0; i < 3; i++) {
            ob = await ex.watchOrderBook('BTC/USDT');
        }
        assert.ok(ob.nonce > first, 'nonce did not advance');
        assert.ok(ob.bids.length > 0 && ob.asks.length > 0 && ob.bids[0][0] < ob.asks[0][0], JSON.stringify(ob.bids[0]) + JSON.stringify(ob.asks[0]));
        return { nonce: ob.nonce, bid: ob.bids[0][0], ask: ob.asks[0][0] };
    },
    async watchTrades() {
        const ts = await ex.watchTrades('ETH/USDT');
        assert.ok(ts.length > 0 && ts.every((t) => t.symbol === 'ETH/USDT' && t.price > 0 && t.amount > 0), JSON.stringify(ts[0]));
        return { trades: ts.length };
    },
    async watchOHLCV() {
        const cs = await ex.watchOHLCV('BTC/USDT', '1m');
        const c = cs[cs.length - 1];
        assert.ok(c[0] % 60000 === 0 && c[1] > 0 && c[2] >= c[3] && c[4] > 0, JSON.stringify(c));
        return { open: c[0] };
    },
    async fetchOHLCVWs() { // WebSocket API klines (ccxt's fetchOrderBookWs and fetchTickerWs are swap-only)
        const cs = await ex.fetchOHLCVWs('BTC/USDT', '1m', undefined, 3);
        assert.equal(cs.length, 3);
        assert.ok(cs[2][0] - cs[1][0] === 60000 && cs[2][4] > 0, JSON.stringify(cs));
        return { candles: cs.length };
    },
    async watchBalance() {
        // account.status: ccxt 4.5.84 parses its answer without the spot type, so only
        // the raw answer (info) holds the balances, against Binance as here.
        const before = await ex.fetchBalanceWs();
        const usdt = before.info.balances.find((b) => b.asset === 'USDT');
        assert.ok(usdt && Number(usdt.free) > 0, JSON.stringify(before.info));
        const update = ex.watchBalance();
        const o = await ex.createOrderWs('BTC/USDT', 'market', 'buy', 0.001);
        assert.equal(o.status, 'closed', JSON.stringify(o));
        const b = await within(10000, 'watchBalance', update);
        assert.ok(b.BTC && b.BTC.free > 1, // 1 BTC + 0.001 bought, less the commission
            JSON.stringify(b.BTC));
        const mine = await ex.fetchMyTradesWs('BTC/USDT');
        assert.ok(mine.some((t) => t.order === o.id), JSON.stringify(mine));
        const all = await ex.fetchOrdersWs('BTC/USDT');
        assert.ok(all.some((x) => x.id === o.id && x.status === 'closed'), JSON.stringify(all));
        return { btc: b.BTC.free, order: o.id };
    },
    async watchOrders() {
        const next = ex.watchOrders('BTC/USDT');
        const o = await ex.createOrderWs('BTC/USDT', 'limit', 'buy', 0.001, 10000, { clientOrderId: 'ccxt-ws-1' });
        assert.equal(o.status, 'open', JSON.stringify(o));
        const seen = await within(10000, 'watchOrders', next);
        assert.ok(seen.some((x) => x.id === o.id && x.status === 'open'), JSON.stringify(seen));
        const got = await ex.fetchOrderWs(o.id, 'BTC/USDT');
        assert.equal(got.clientOrderId, 'ccxt-ws-1');
        const open = await ex.fetchOpenOrdersWs('BTC/USDT');
        assert.ok(open.some((x) => x.id === o.id), JSON.stringify(open));
        const canceled = ex.watchOrders('BTC/USDT');
        const c = await ex.cancelOrderWs(o.id, 'BTC/USDT');
        assert.equal(c.status, 'canceled', JSON.stringify(c));
        const after = await within(10000, 'watchOrders cancel', canceled);
        assert.ok(after.some((x) => x.id === o.id && x.status === 'canceled'), JSON.stringify(after));
        return { order: o.id };
    },
    async cancelAllOrdersWs() {
        await ex.createOrderWs('ETH/USDT', 'limit', 'buy', 0.01, 1000);
        await ex.createOrderWs('ETH/USDT', 'limit', 'buy', 0.01, 1001);
        const cs = await ex.cancelAllOrdersWs('ETH/USDT');
        assert.equal(cs.length, 2, JSON.stringify(cs));
        const open = await ex.fetchOpenOrdersWs('ETH/USDT');
        assert.equal(open.length, 0, JSON.stringify(open));
        return { canceled: cs.length };
    },
};

let code = 0;
try {
    await ex.loadHttpProxyAgent();
    await within(20000, 'loadMarkets', ex.loadMarkets());
    for (const [name, fn] of Object.entries(checks)) {
        const started = Date.now();
        const detail = await within(20000, name, fn());
        report(name, { ok: true, ms: Date.now() - started, ...detail });
    }
} catch (e) {
    report('failed', { ok: false, error: String(e && e.stack || e) });
    code = 1;
}
await within(5000, 'close', ex.close()).catch(() => {});
process.exit(code);
