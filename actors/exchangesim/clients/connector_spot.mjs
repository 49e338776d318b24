// Binance's own JS connector (@binance/connector 3.6.1, the Spot REST client) against
// the simulator: baseURL is the only override. Run by TestBinanceConnectorSpot
// (clients_test.go) with SIM_URL, SIM_KEY and SIM_SECRET.
import { Spot } from '@binance/connector';
import { step, check, admin, done } from './harness.mjs';

const c = new Spot(process.env.SIM_KEY, process.env.SIM_SECRET, { baseURL: process.env.SIM_URL });
const S = 'BTCUSDT';
const d = async (p) => (await p).data;
let px = 0;

await step('ping/time', async () => {
  await d(c.ping());
  check(Math.abs((await d(c.time())).serverTime - Date.now()) < 5000, 'time');
});
await step('exchangeInfo', async () => {
  const s = (await d(c.exchangeInfo({ symbol: S }))).symbols[0];
  check(s.orderTypes.includes('STOP_LOSS_LIMIT') && s.ocoAllowed && s.cancelReplaceAllowed, JSON.stringify(s.orderTypes));
});
await step('systemStatus/coinInfo/tradeFee/assetDetail/accountStatus', async () => {
  check((await d(c.systemStatus())).status === 0, 'status');
  check((await d(c.coinInfo())).some((x) => x.coin === 'USDT' && x.free === '100000.00000000'), 'coinInfo');
  check((await d(c.tradeFee({ symbol: S })))[0].makerCommission === '0.001', 'tradeFee');
  check((await d(c.assetDetail())).BTC, 'assetDetail');
  check((await d(c.accountStatus())).data === 'Normal', 'accountStatus');
});
await step('ticker24hr/tickerPrice/bookTicker/avgPrice', async () => {
  const t = await d(c.ticker24hr(S));
  px = Number(t.lastPrice);
  check(px > 0 && Number(t.volume) > 0, JSON.stringify(t));
  check((await d(c.tickerPrice('', [S, 'ETHUSDT']))).length === 2, 'tickerPrice');
  check(Number((await d(c.bookTicker(S))).bidPrice) > 0, 'bookTicker');
  check(Number((await d(c.avgPrice(S))).price) > 0, 'avgPrice');
});
await step('rollingWindowTicker', async () => {
  const t = await d(c.rollingWindowTicker(S, [], { windowSize: '7d' }));
  check(t.openTime === t.closeTime - 7 * 86400000 && t.count > 0, JSON.stringify(t));
  check((await d(c.rollingWindowTicker('', [S, 'ETHUSDT'], { type: 'MINI' }))).length === 2, 'symbols');
});
await step('depth 5000', async () => {
  const ob = await d(c.depth(S, { limit: 5000 }));
  check(ob.bids.length === 5000 && ob.asks.length === 5000, 'levels');
});
await step('klines year back', async () => {
  const start = Date.now() - 365 * 86400000;
  const ks = await d(c.klines(S, '1m', { startTime: start, limit: 1000 }));
  check(ks.length === 1000 && ks[0][0] >= start && ks[0][0] < start + 60000, `first ${ks[0][0]}`);
  const ui = await d(c.uiklines(S, '1h', { limit: 3 }));
  check(ui.length === 3, 'uiKlines');
});
await step('trades/historicalTrades/aggTrades', async () => {
  const ts = await d(c.trades(S, { limit: 20 }));
  check(ts.length === 20 && ts[19].id > ts[0].id, 'trades');
  const old = await d(c.historicalTrades(S, { fromId: 1000, limit: 5 }));
  check(old.length === 5 && old[0].id === 1000 && old[0].time < 60000 * 1000, JSON.stringify(old[0]));
  const start = Date.now() - 3 * 86400000;
  const ag = await d(c.aggTrades(S, { startTime: start, endTime: start + 3600000, limit: 1000 }));
  check(ag.length > 100 && ag.every((a) => a.T >= start && a.T <= start + 3600000), `aggTrades ${ag.length}`);
  const next = await d(c.aggTrades(S, { fromId: ag[ag.length - 1].a, limit: 2 }));
  check(next[0].a === ag[ag.length - 1].a, 'aggTrades fromId');
});
await step('account', async () => {
  const a = await d(c.account({ omitZeroBalances: true }));
  check(a.balances.some((b) => b.asset === 'BTC' && b.free === '2.00000000'), JSON.stringify(a.balances));
});
await step('newOrderTest', async () => d(c.newOrderTest(S, 'BUY', 'MARKET', { quantity: '0.001' })));
let lim;
await step('newOrder market/limit, getOrder, openOrders', async () => {
  const m = await d(c.newOrder(S, 'BUY', 'MARKET', { quantity: '0.01' }));
  check(m.status === 'FILLED' && m.fills.length > 0, m.status);
  lim = await d(c.newOrder(S, 'BUY', 'LIMIT', { quantity: '0.01', price: (px * 0.9).toFixed(2), timeInForce: 'GTC' }));
  check((await d(c.getOrder(S, { orderId: lim.orderId }))).status === 'NEW', 'getOrder');
  check((await d(c.openOrders({ symbol: S }))).length === 1, 'openOrders');
});
await step('cancelAndReplace', async () => {
  const r = await d(c.cancelAndReplace(S, 'BUY', 'LIMIT', 'STOP_ON_FAILURE', {
    cancelOrderId: lim.orderId, quantity: '0.02', price: (px * 0.91).toFixed(2), timeInForce: 'GTC',
  }));
  check(r.cancelResult === 'SUCCESS' && r.newOrderResult === 'SUCCESS' && r.newOrderResponse.origQty === '0.02000000', JSON.stringify(r));
  lim = r.newOrderResponse;
  try {
    await c.cancelAndReplace(S, 'BUY', 'LIMIT', 'STOP_ON_FAILURE', { cancelOrderId: 999999, quantity: '0.02', price: '1000.00', timeInForce: 'GTC' });
    throw new Error('cancel of an unknown order succeeded');
  } catch (e) {
    const body = e.response && e.response.data;
    check(body && body.code === -2022 && body.data.cancelResult === 'FAILURE' && body.data.newOrderResult === 'NOT_ATTEMPTED', JSON.stringify(body));
  }
});
await step('cancelOrder', async () => {
  check((await d(c.cancelOrder(S, { orderId: lim.orderId }))).status === 'CANCELED', 'cancel');
});
await step('stop-loss and take-profit trigger', async () => {
  const sl = await d(c.newOrder(S, 'SELL', 'STOP_LOSS', { quantity: '0.01', stopPrice: (px * 0.97).toFixed(2) }));
  const tp = await d(c.newOrder(S, 'SELL', 'TAKE_PROFIT_LIMIT', {
    quantity: '0.01', price: (px * 1.02).toFixed(2), stopPrice: (px * 1.03).toFixed(2), timeInForce: 'GTC',
  }));
  check((await d(c.getOrder(S, { orderId: sl.orderId }))).isWorking === false, 'not working before trigger');
  await admin('price', { symbol: S, price: (px * 0.96).toFixed(2) });
  check((await d(c.getOrder(S, { orderId: sl.orderId }))).status === 'FILLED', 'stop loss filled');
  check((await d(c.getOrder(S, { orderId: tp.orderId }))).status === 'NEW', 'take profit waits');
  await admin('price', { symbol: S, price: (px * 1.035).toFixed(2) });
  check((await d(c.getOrder(S, { orderId: tp.orderId }))).status === 'FILLED', 'take profit filled');
  try {
    await c.newOrder(S, 'SELL', 'STOP_LOSS', { quantity: '0.01', stopPrice: (px * 1.2).toFixed(2) });
    throw new Error('a stop that triggers at once was accepted');
  } catch (e) {
    check(e.response && e.response.data.msg === 'Order would trigger immediately.', String(e));
  }
});
await step('OCO: one leg fills, the other expires', async () => {
  const p = Number((await d(c.tickerPrice(S))).price);
  const l = await d(c.newOCOOrder(S, 'SELL', '0.01', 'LIMIT_MAKER', 'STOP_LOSS', {
    abovePrice: (p * 1.01).toFixed(2), belowStopPrice: (p * 0.99).toFixed(2),
  }));
  check(l.orderReports.length === 2 && (await d(c.getOpenOCOOrders())).length === 1, JSON.stringify(l));
  await admin('price', { symbol: S, price: (p * 1.02).toFixed(2) });
  const got = await d(c.getOCOOrder({ orderListId: l.orderListId }));
  check(got.listOrderStatus === 'ALL_DONE', JSON.stringify(got));
  const st = {};
  for (const o of l.orders) st[(await d(c.getOrder(S, { orderId: o.orderId }))).type] = (await d(c.getOrder(S, { orderId: o.orderId }))).status;
  check(st.LIMIT_MAKER === 'FILLED' && st.STOP_LOSS === 'EXPIRED', JSON.stringify(st));
  check((await d(c.getOCOOrders())).length === 1, 'allOrderList');
});
await step('legacy order/oco and cancelOCOOrder', async () => {
  const p = Number((await d(c.tickerPrice(S))).price);
  const body = new URLSearchParams({
    symbol: S, side: 'BUY', quantity: '0.01', price: (p * 0.98).toFixed(2),
    stopPrice: (p * 1.02).toFixed(2), stopLimitPrice: (p * 1.03).toFixed(2), stopLimitTimeInForce: 'GTC',
  });
  const l = await d(c.signRequest('POST', '/api/v3/order/oco', Object.fromEntries(body)));
  check(l.orders.length === 2, JSON.stringify(l));
  const x = await d(c.cancelOCOOrder(S, { orderListId: l.orderListId }));
  check(x.listOrderStatus === 'ALL_DONE' && x.orderReports.every((o) => o.status === 'CANCELED'), JSON.stringify(x));
});
await step('allOrders/myTrades/cancelOpenOrders/orderCount', async () => {
  check((await d(c.allOrders(S))).length >= 8, 'allOrders');
  check((await d(c.myTrades(S))).length >= 3, 'myTrades');
  await d(c.newOrder(S, 'BUY', 'LIMIT', { quantity: '0.01', price: (px * 0.8).toFixed(2), timeInForce: 'GTC' }));
  check((await d(c.cancelOpenOrders(S))).length === 1, 'cancelOpenOrders');
  check((await d(c.orderCount())).length === 2, 'orderCount');
});
done();
