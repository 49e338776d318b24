// JSON-RPC 2.0 over one WebSocket: request ids and promises, notifications
// routed by subscription id, reconnection with backoff, and subscriptions
// made again after a reconnection.

/** RPCError is a JSON-RPC error answer (code, message, data). */
export class RPCError extends Error {
  constructor(err) {
    const detail = err && typeof err.data === "string" && err.data ? ": " + err.data : "";
    super((err && err.message ? err.message : String(err)) + detail);
    this.code = err && err.code;
    this.data = err && err.data;
  }
}

// Notifications that arrive before their subscribe call's answer (a log
// tail is queued before it) wait here, at most this many per id.
const maxEarly = 5000;
const maxEarlyIds = 16;

/**
 * RPC is a JSON-RPC client over a WebSocket that reconnects by itself.
 * Events (EventTarget): "state" (detail: "connecting" | "open" | "closed"),
 * "unauthorized" (the server refused the connection: no session).
 */
export class RPC extends EventTarget {
  constructor(url, opts = {}) {
    super();
    this.url = url;
    this.minDelay = opts.minDelay || 250;
    this.maxDelay = opts.maxDelay || 10000;
    this.timeout = opts.timeout || 30000;
    this.state = "closed";
    this.nextId = 1;
    this.pending = new Map(); // request id -> {resolve, reject, timer}
    this.subs = new Set(); // live Subscription objects
    this.byServerId = new Map(); // server subscription id -> Subscription
    this.early = new Map(); // server subscription id -> params[]
    this.gone = new Set(); // server ids unsubscribed on this connection
    this.queue = []; // frames waiting for the socket to open
    this.delay = this.minDelay;
    this.ws = null;
    this.closing = false;
    this.failures = 0;
  }

  /** connect opens the socket (again after close). */
  connect() {
    this.closing = false;
    this.open();
  }

  /** close stops reconnecting and closes the socket. */
  close() {
    this.closing = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close();
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.dispatchEvent(new CustomEvent("state", { detail: s }));
  }

  open() {
    this.setState("connecting");
    let opened = false;
    const ws = adoptEarly(this.url) || new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (!performance.getEntriesByName("rpc-open").length) performance.mark("rpc-open");
      opened = true;
      this.failures = 0;
      this.delay = this.minDelay;
      this.setState("open");
      const q = this.queue;
      this.queue = [];
      for (const f of q) ws.send(f.frame);
      for (const s of this.subs) this.resubscribe(s);
    };
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.byServerId.clear();
      this.early.clear();
      this.gone.clear();
      const waiting = new Set(this.queue.map((f) => f.id));
      for (const [id, p] of this.pending) {
        // Calls in flight are lost with the connection: the caller retries.
        if (waiting.has(id)) continue;
        clearTimeout(p.timer);
        p.reject(new RPCError({ code: -32000, message: "connection lost" }));
        this.pending.delete(id);
      }
      this.setState("closed");
      if (this.closing) return;
      if (!opened) {
        this.failures++;
        this.checkSession();
      }
      this.retryTimer = setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.maxDelay, this.delay * 2);
    };
    if (ws.readyState === WebSocket.OPEN) ws.onopen(); // an early socket opened before we listened
  }

  // checkSession asks the server whether our session is still good after a
  // refused connection: without one, / answers the login form.
  async checkSession() {
    if (this.failures > 1 && this.failures % 3 !== 0) return;
    try {
      const r = await fetch("/", { cache: "no-store", credentials: "same-origin" });
      const body = await r.text();
      if (r.status === 401 || r.status === 403 || /name="token"/.test(body)) {
        this.dispatchEvent(new CustomEvent("unauthorized"));
      }
    } catch (_) {
      // The server is down: keep retrying.
    }
  }

  send(id, frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
    else this.queue.push({ id, frame });
  }

  /** call sends a request and resolves with its result (RPCError on an error). */
  call(method, params) {
    const id = this.nextId++;
    const msg = { jsonrpc: "2.0", id, method };
    if (params !== undefined) msg.params = params;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.queue = this.queue.filter((f) => f.id !== id);
        reject(new RPCError({ code: -32000, message: method + ": no answer in time" }));
      }, this.timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.send(id, JSON.stringify(msg));
    });
  }

  onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (_) {
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) this.onOne(m);
  }

  onOne(m) {
    if (m.id !== undefined && m.id !== null && !m.method) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new RPCError(m.error));
      else p.resolve(m.result);
      return;
    }
    if (!m.method || !m.params || m.params.subscription === undefined) return;
    const sid = m.params.subscription;
    const s = this.byServerId.get(sid);
    if (s) {
      s.deliver(m.params, m.method);
      return;
    }
    if (this.gone.has(sid)) return; // in flight when we unsubscribed
    let q = this.early.get(sid);
    if (!q) {
      // Ids nobody claims (a subscribe call that failed on our side) must
      // not pile up: keep the newest few.
      if (this.early.size >= maxEarlyIds) this.early.delete(this.early.keys().next().value);
      this.early.set(sid, (q = []));
    }
    if (q.length < maxEarly) q.push([m.params, m.method]);
  }

  /**
   * subscribe calls method (events.subscribe or logs.stream) with params and
   * hands each notification's params to onNotify. It resolves with a
   * Subscription (close() ends it); after a reconnection the subscription is
   * made again (its onResubscribe, when set, is called first).
   */
  async subscribe(method, params, onNotify) {
    const s = new Subscription(this, method, params, onNotify);
    this.subs.add(s);
    await this.bind(s);
    return s;
  }

  async bind(s) {
    const res = await this.call(s.method, s.params);
    if (s.closed) {
      this.gone.add(res.subscription);
      this.early.delete(res.subscription);
      this.call("events.unsubscribe", { subscription: res.subscription }).catch(() => {});
      return;
    }
    s.serverId = res.subscription;
    this.byServerId.set(s.serverId, s);
    const q = this.early.get(s.serverId) || [];
    this.early.delete(s.serverId);
    for (const [p, m] of q) s.deliver(p, m);
  }

  resubscribe(s) {
    s.serverId = null;
    if (s.onResubscribe && !s.closed) s.onResubscribe();
    this.bind(s).catch(() => {}); // a failure here shows as a missing stream; next reconnect retries
  }

  unsubscribe(s) {
    this.subs.delete(s);
    if (s.serverId === null || s.serverId === undefined) return;
    this.byServerId.delete(s.serverId);
    this.gone.add(s.serverId);
    if (this.state === "open") {
      this.call("events.unsubscribe", { subscription: s.serverId }).catch(() => {});
    }
  }
}

/** Subscription is one events.subscribe or logs.stream of an RPC client. */
export class Subscription {
  constructor(rpc, method, params, onNotify) {
    this.rpc = rpc;
    this.method = method;
    this.params = params;
    this.onNotify = onNotify;
    this.serverId = null;
    this.closed = false;
    this.onResubscribe = null;
  }

  deliver(params, method) {
    if (!this.closed) this.onNotify(params, method);
  }

  /** close ends the subscription on the server too. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.rpc.unsubscribe(this);
  }
}

// adoptEarly takes the socket early.js opened for url, once, while it is
// connecting or open.
function adoptEarly(url) {
  const ws = window.superbotEarlySocket;
  window.superbotEarlySocket = null;
  if (ws && ws.url === url && (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN)) return ws;
  if (ws) ws.close();
  return null;
}

/** rpcURL is the daemon's /rpc on the page's own host. */
export function rpcURL() {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/rpc";
}
