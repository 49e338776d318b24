// Pages one year of 1-minute BTC/USDT candles through ccxt's fetchOHLCV (since/limit
// 1000) with ccxt's own rate limiter on, as a user would. Run by
// BenchmarkCCXTYearOf1mKlines (make bench); prints {"done":true,"info":{...}}.
import ccxt from 'ccxt';

const base = process.env.SIM_URL;
const ex = new ccxt.binance({
  urls: { api: { public: base + '/api/v3', private: base + '/api/v3', sapi: base + '/sapi/v1' } },
  options: { fetchMarkets: { types: ['spot'] } },
});
await ex.loadMarkets();
const end = Date.now();
let since = end - 365 * 86400000;
let pages = 0, candles = 0, maxWeight = 0, prev = -1;
const t0 = performance.now();
while (since < end - 60000) {
  const page = await ex.fetchOHLCV('BTC/USDT', '1m', since, 1000);
  if (page.length === 0) break;
  if (prev >= 0 && page[0][0] !== prev + 60000) throw new Error(`gap after ${prev}`);
  pages++;
  candles += page.length;
  prev = page[page.length - 1][0];
  since = prev + 60000;
  const h = ex.last_response_headers || {};
  const k = Object.keys(h).find((x) => x.toLowerCase() === 'x-mbx-used-weight-1m');
  const w = Number(k ? h[k] : 0);
  maxWeight = Math.max(maxWeight, w);
}
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ done: true, info: { pages, candles, seconds, maxWeight } }) + '\n');
