// ccxt's binance (spot) against the simulator: only urls.api overridden, plus the
// fetchMarkets option a spot-only user sets. Run by TestCCXTSpot (clients_test.go) with
// SIM_URL, SIM_KEY and SIM_SECRET; prints one JSON line per step, then {"done":true}.
import ccxt from 'ccxt';
import { step, check, admin, done, near } from './harness.mjs';

const base = process.env.SIM_URL;
const api = {};
for (const k of ['public', 'private', 'v1']) api[k] = base + (k === 'v1' ? '/api/v1' : '/api/v3');
for (const v of ['', 'V2', 'V3', 'V4']) api['sapi' + v] = base + '/sapi/v' + (v ? v.slice(1) : '1');
const ex = new ccxt.binance({
  apiKey: process.env.SIM_KEY,
  secret: process.env.SIM_SECRET,
  urls: { api },
  options: { fetchMarkets: { types: ['spot'] } },
});
const S = 'BTC/USDT';
let px = 0;

await step('loadMarkets', async () => {
  const ms = await ex.loadMarkets();
  const m = ms[S];
  check(m && m.spot && m.active, 'BTC/USDT missing or inactive');
  check(m.precision.amount === 0.00001 && m.precision.price === 0.01, `precision ${JSON.stringify(m.precision)}`);
  check(ex.currencies.USDT && ex.currencies.BTC, 'currencies from capital/config/getall missing');
  return Object.keys(ms).length;
});
await step('fetchTime', async () => {
  const t = await ex.fetchTime();
  check(Math.abs(t - Date.now()) < 5000, `server time ${t}`);
});
await step('fetchStatus', async () => check((await ex.fetchStatus()).status === 'ok', 'status'));
await step('fetchBalance', async () => {
  const b = await ex.fetchBalance();
  check(b.free.USDT === 100000 && b.free.BTC === 2, `balance ${JSON.stringify(b.free)}`);
});
await step('fetchTicker', async () => {
  const t = await ex.fetchTicker(S);
  px = t.last;
  check(px > 0 && t.bid < t.ask && t.baseVolume > 0, `ticker ${JSON.stringify(t)}`);
});
await step('fetchTicker rolling', async () => {
  const t = await ex.fetchTicker(S, { rolling: true, windowSize: '1h' });
  check(t.last > 0 && t.open > 0, 'rolling ticker');
});
await step('fetchTickers', async () => {
  check(Object.keys(await ex.fetchTickers([S, 'ETH/USDT'])).length === 2, 'two symbols');
  check(Object.keys(await ex.fetchTickers()).length === 4, 'all symbols');
});
await step('fetchBidsAsks', async () => check((await ex.fetchBidsAsks([S]))[S].bid > 0, 'bid'));
await step('fetchLastPrices', async () => check((await ex.fetchLastPrices([S]))[S].price > 0, 'price'));
await step('fetchOrderBook 5000', async () => {
  const ob = await ex.fetchOrderBook(S, 5000);
  check(ob.bids.length === 5000 && ob.asks.length === 5000, `levels ${ob.bids.length}/${ob.asks.length}`);
  check(ob.bids[0][0] < ob.asks[0][0] && ob.bids[4999][0] < ob.bids[0][0], 'book order');
});
await step('fetchOHLCV paging', async () => {
  const now = Date.now();
  let since = now - 4500 * 60000;
  let all = [];
  for (let i = 0; i < 5; i++) {
    const page = await ex.fetchOHLCV(S, '1m', since, 1000);
    if (page.length === 0) break;
    all = all.concat(page);
    since = page[page.length - 1][0] + 60000;
  }
  for (let i = 1; i < all.length; i++) check(all[i][0] === all[i - 1][0] + 60000, `gap at ${i}`);
  check(all.length >= 4500 && all[all.length - 1][0] > now - 120000, `candles ${all.length}`);
  const again = await ex.fetchOHLCV(S, '1m', all[0][0], 3);
  check(JSON.stringify(again) === JSON.stringify(all.slice(0, 3)), 'same page twice differs');
  // startTime=0 is the epoch (ccxt itself then drops the candle at 0 from fetchOHLCV)
  const epoch = await ex.publicGetKlines({ symbol: 'BTCUSDT', interval: '1m', startTime: 0, limit: 2 });
  check(epoch.length === 2 && epoch[0][0] === 0, `startTime=0 gave ${JSON.stringify(epoch[0])}`);
  check((await ex.fetchOHLCV(S, '1m', 0, 2))[0][0] <= 60000, 'fetchOHLCV since=0');
  for (const tf of ['1h', '1d', '1w', '1M']) check((await ex.fetchOHLCV(S, tf, undefined, 5)).length === 5, tf);
  return all.length;
});
await step('fetchTrades', async () => {
  check((await ex.fetchTrades(S)).length > 0, 'recent trades');
  const since = Date.now() - 2 * 86400000;
  const ts = await ex.fetchTrades(S, since, 50);
  check(ts.length === 50 && ts[0].timestamp >= since && ts[49].timestamp >= ts[0].timestamp, `trades since ${ts.length}`);
  const hist = await ex.fetchTrades(S, undefined, 10, { method: 'publicGetHistoricalTrades', fromId: ts[0].id });
  check(hist[0].id === ts[0].id, 'historicalTrades fromId');
});
await step('fetchTradingFees', async () => check((await ex.fetchTradingFees())[S].maker === 0.001, 'fee'));
await step('fetchTradingFee', async () => check((await ex.fetchTradingFee(S)).taker === 0.001, 'fee'));
await step('fetchDepositWithdrawFees', async () => check((await ex.fetchDepositWithdrawFees(['BTC'])).BTC, 'fees'));
await step('fetchDeposits/fetchWithdrawals', async () => {
  check((await ex.fetchDeposits()).length === 0 && (await ex.fetchWithdrawals()).length === 0, 'empty');
});

let mkt, lim, edited, stop;
await step('createOrder market', async () => {
  mkt = await ex.createOrder(S, 'market', 'buy', 0.01);
  check(mkt.status === 'closed' && mkt.filled === 0.01, `market ${mkt.status} ${mkt.filled}`);
});
await step('createMarketBuyOrderWithCost', async () => {
  const o = await ex.createMarketBuyOrderWithCost(S, 100);
  check(o.status === 'closed' && near(o.cost, 100, 1), `cost ${o.cost}`);
});
await step('createOrder limit', async () => {
  lim = await ex.createOrder(S, 'limit', 'buy', 0.01, Math.round(px * 0.9));
  check(lim.status === 'open', lim.status);
});
await step('fetchOrder', async () => check((await ex.fetchOrder(lim.id, S)).status === 'open', 'open'));
await step('fetchOpenOrders', async () => check((await ex.fetchOpenOrders(S)).some((o) => o.id === lim.id), 'listed'));
await step('editOrder (cancelReplace)', async () => {
  edited = await ex.editOrder(lim.id, S, 'limit', 'buy', 0.02, Math.round(px * 0.91));
  check(edited.id !== lim.id && edited.amount === 0.02 && edited.status === 'open', JSON.stringify(edited.info));
  check((await ex.fetchOrder(lim.id, S)).status === 'canceled', 'old order not canceled');
});
await step('cancelOrder', async () => {
  await ex.cancelOrder(edited.id, S);
  check((await ex.fetchOrder(edited.id, S)).status === 'canceled', 'not canceled');
});
await step('createOrder stop-loss-limit (stopLossPrice)', async () => {
  stop = await ex.createOrder(S, 'limit', 'sell', 0.01, Math.round(px * 0.95), { stopLossPrice: Math.round(px * 0.96) });
  const o = await ex.fetchOrder(stop.id, S);
  check(o.info.type === 'STOP_LOSS_LIMIT' && o.status === 'open' && o.triggerPrice === Math.round(px * 0.96), JSON.stringify(o.info));
});
await step('createOrder take-profit (raw type)', async () => {
  const o = await ex.createOrder(S, 'TAKE_PROFIT', 'sell', 0.01, undefined, { stopPrice: Math.round(px * 1.2) });
  check((await ex.fetchOrder(o.id, S)).info.type === 'TAKE_PROFIT', 'type');
});
await step('stop triggers on the simulated price', async () => {
  await admin('price', { symbol: 'BTCUSDT', price: String(Math.round(px * 0.955)) });
  const o = await ex.fetchOrder(stop.id, S);
  check(o.status === 'closed' && o.filled === 0.01, `after trigger ${o.status} ${o.filled}`);
});
await step('fetchMyTrades', async () => {
  check((await ex.fetchMyTrades(S)).length >= 3, 'trades');
  check((await ex.fetchMyTrades(S, Date.now() - 3600000, 2)).length === 2, 'since/limit');
});
await step('fetchOrderTrades', async () => check((await ex.fetchOrderTrades(mkt.id, S)).length >= 1, 'order trades'));
await step('fetchOrders/fetchClosedOrders/fetchCanceledOrders', async () => {
  check((await ex.fetchOrders(S)).length >= 6, 'all orders');
  check((await ex.fetchClosedOrders(S)).length >= 3, 'closed');
  check((await ex.fetchCanceledOrders(S)).length >= 2, 'canceled');
});
await step('cancelAllOrders', async () => {
  await ex.createOrder(S, 'limit', 'buy', 0.01, Math.round(px * 0.8));
  await ex.cancelAllOrders(S);
  check((await ex.fetchOpenOrders(S)).length === 0, 'still open');
});
await step('OCO orderList (implicit API)', async () => {
  const p = (await ex.fetchTicker(S)).last;
  const l = await ex.privatePostOrderListOco({
    symbol: 'BTCUSDT', side: 'SELL', quantity: '0.01',
    aboveType: 'LIMIT_MAKER', abovePrice: String(Math.round(p * 1.05)),
    belowType: 'STOP_LOSS_LIMIT', belowPrice: String(Math.round(p * 0.94)),
    belowStopPrice: String(Math.round(p * 0.95)), belowTimeInForce: 'GTC',
  });
  check(l.orderListId >= 0 && l.orders.length === 2 && l.listOrderStatus === 'EXECUTING', JSON.stringify(l));
  check((await ex.privateGetOpenOrderList()).length === 1, 'openOrderList');
  check((await ex.privateGetOrderList({ orderListId: l.orderListId })).orders.length === 2, 'orderList');
  const c = await ex.privateDeleteOrderList({ symbol: 'BTCUSDT', orderListId: l.orderListId });
  check(c.listOrderStatus === 'ALL_DONE', 'cancel list');
  check((await ex.privateGetAllOrderList()).length === 1, 'allOrderList');
});
done();
