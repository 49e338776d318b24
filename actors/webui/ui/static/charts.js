// Charts drawn by our own code: SVG sparklines, a canvas line chart and a
// canvas candlestick chart with volume.

const svgNS = "http://www.w3.org/2000/svg";

/** sparkline draws values (oldest first) as a small SVG polyline. */
export function sparkline(values, label) {
  const w = 90, hgt = 22;
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label || "trend");
  if (values.length > 1) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    const pts = values.map((v, i) => {
      const x = (i / (values.length - 1)) * w;
      const y = hgt - 1 - ((v - lo) / (hi - lo)) * (hgt - 2);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    const pl = document.createElementNS(svgNS, "polyline");
    pl.setAttribute("points", pts.join(" "));
    svg.append(pl);
  }
  return svg;
}

// colors reads the theme's colors from the CSS variables.
function colors() {
  const cs = getComputedStyle(document.documentElement);
  const v = (n) => cs.getPropertyValue(n).trim();
  return { fg: v("--fg"), muted: v("--muted"), line: v("--line"), up: v("--up"), down: v("--down"), accent: v("--accent") };
}

// setup sizes a canvas to its CSS box at the device's pixel ratio.
function setup(canvas) {
  const r = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, Math.floor(r.width)), hgt = Math.max(50, Math.floor(r.height));
  canvas.width = w * dpr;
  canvas.height = hgt * dpr;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  ctx.font = "11px system-ui, sans-serif";
  return { ctx, w, h: hgt };
}

// niceLabel formats an axis value.
function niceLabel(v) {
  const a = Math.abs(v);
  return v.toLocaleString(undefined, { maximumFractionDigits: a >= 1000 ? 0 : a >= 1 ? 2 : 6 });
}

// axis draws horizontal grid lines and labels for [lo, hi] over the band
// [top, bottom] of the canvas, left of the right margin.
function axis(ctx, c, lo, hi, top, bottom, w, right) {
  ctx.strokeStyle = c.line;
  ctx.fillStyle = c.muted;
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const y = bottom - ((v - lo) / (hi - lo)) * (bottom - top);
    ctx.beginPath();
    ctx.moveTo(0, Math.round(y) + 0.5);
    ctx.lineTo(w - right, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillText(niceLabel(v), w - right + 4, y + 4);
  }
}

/** lineChart draws points [{t, v}] (t: ms) on canvas as a line. */
export function lineChart(canvas, points) {
  const { ctx, w, h } = setup(canvas);
  const c = colors();
  if (points.length < 2) {
    ctx.fillStyle = c.muted;
    ctx.fillText("waiting for data", 10, 20);
    return;
  }
  const right = 70, top = 8, bottom = h - 18;
  let lo = Math.min(...points.map((p) => p.v)), hi = Math.max(...points.map((p) => p.v));
  if (hi === lo) {
    hi += Math.abs(hi) * 0.01 || 1;
    lo -= Math.abs(lo) * 0.01 || 1;
  }
  const t0 = points[0].t, t1 = points[points.length - 1].t || t0 + 1;
  axis(ctx, c, lo, hi, top, bottom, w, right);
  ctx.strokeStyle = c.accent;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  points.forEach((p, i) => {
    const x = ((p.t - t0) / (t1 - t0 || 1)) * (w - right - 4);
    const y = bottom - ((p.v - lo) / (hi - lo)) * (bottom - top);
    if (i) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = c.muted;
  ctx.fillText(new Date(t0).toLocaleTimeString(), 2, h - 4);
  const end = new Date(t1).toLocaleTimeString();
  ctx.fillText(end, w - right - ctx.measureText(end).width - 4, h - 4);
}

/**
 * candleChart draws klines (market.klines rows, oldest first) as candles
 * over volume bars.
 */
export function candleChart(canvas, klines) {
  const { ctx, w, h } = setup(canvas);
  const c = colors();
  if (!klines.length) {
    ctx.fillStyle = c.muted;
    ctx.fillText("no candles", 10, 20);
    return;
  }
  const k = klines.map((r) => ({
    t: Number(r.open_time_ms), o: +r.open, hi: +r.high, lo: +r.low, c: +r.close, v: +r.volume,
  }));
  const right = 70, top = 8, volH = Math.floor(h * 0.22), priceBottom = h - volH - 22;
  let lo = Math.min(...k.map((x) => x.lo)), hi = Math.max(...k.map((x) => x.hi));
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const vmax = Math.max(...k.map((x) => x.v)) || 1;
  axis(ctx, c, lo, hi, top, priceBottom, w, right);
  const step = (w - right - 4) / k.length;
  const bw = Math.max(1, Math.floor(step * 0.7));
  const y = (p) => priceBottom - ((p - lo) / (hi - lo)) * (priceBottom - top);
  const volBottom = h - 18;
  k.forEach((x, i) => {
    const cx = Math.floor(i * step + step / 2) + 0.5;
    const col = x.c >= x.o ? c.up : c.down;
    ctx.strokeStyle = col;
    ctx.fillStyle = col;
    ctx.beginPath();
    ctx.moveTo(cx, y(x.hi));
    ctx.lineTo(cx, y(x.lo));
    ctx.stroke();
    const yo = y(x.o), yc = y(x.c);
    ctx.fillRect(cx - bw / 2, Math.min(yo, yc), bw, Math.max(1, Math.abs(yc - yo)));
    const vh = (x.v / vmax) * (volH - 4);
    ctx.globalAlpha = 0.5;
    ctx.fillRect(cx - bw / 2, volBottom - vh, bw, vh);
    ctx.globalAlpha = 1;
  });
  ctx.fillStyle = c.muted;
  ctx.fillText("vol " + niceLabel(vmax), w - right + 4, volBottom - volH + 10);
  ctx.fillText(new Date(k[0].t).toLocaleString(undefined, { hour12: false }), 2, h - 4);
  const end = new Date(k[k.length - 1].t).toLocaleString(undefined, { hour12: false });
  ctx.fillText(end, w - right - ctx.measureText(end).width - 4, h - 4);
}
