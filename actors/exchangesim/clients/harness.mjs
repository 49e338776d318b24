// Shared helpers of the client scripts: each step prints one JSON line
// {"step","ok","err","info"}; done() prints {"done":true}. The Go test reads them.
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

export async function step(name, fn) {
  const t0 = Date.now();
  try {
    const info = await fn();
    out({ step: name, ok: true, ms: Date.now() - t0, info });
  } catch (e) {
    out({ step: name, ok: false, ms: Date.now() - t0, err: String((e && e.stack) || e).slice(0, 800) });
  }
}

export function check(cond, msg) {
  if (!cond) throw new Error('check failed: ' + msg);
}

export const near = (a, b, tol) => Math.abs(a - b) <= tol;

// admin calls the simulator's admin API (POST /admin/<path>).
export async function admin(path, body) {
  const r = await fetch(process.env.SIM_URL + '/admin/' + path, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`admin ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

export function done() {
  out({ done: true });
}
