"""A JSON-RPC 2.0 client of superbotd using only Python's standard library.

Finding the daemon: a module gets SUPERBOT_SOCKET (the Unix socket) and
SUPERBOT_TOKEN_PATH (the token file) from superbotd. Outside a module the
socket defaults to .superbot/superbot.sock in the working directory. Over TCP
(Client(addr="127.0.0.1:9999")) the client logs in first with the token:
token=, else $SUPERBOT_TOKEN, else the token file. On the socket it logs in
only when the daemon asks (require_token_on_socket).

    from superbot_client import Client
    with Client() as c:
        print(c.call("daemon.status")["version"])
        c.subscribe("fill.my_strategy.*")
        c.place_order("BTCUSDT", "BUY", "0.001", strategy="my_strategy")
        for event in c.events():          # bus events as they come
            print(event["topic"], event["payload"])

One connection carries calls and subscriptions: notifications that arrive
while a call waits for its answer are kept, in order, for events().

As a script:  python3 clients/python/superbot_client.py METHOD [JSON-PARAMS]
"""
import collections
import json
import os
import socket
import sys
import time

DEFAULT_SOCKET = os.path.join(".superbot", "superbot.sock")
UNAUTHORIZED = -32001
EVENT_METHOD = "events.event"
MAX_LINE = 16 << 20  # the longest answer line read, in bytes


class RPCError(Exception):
    """An error answer: code, message and data as the daemon sent them."""

    def __init__(self, error):
        super().__init__(f"{error.get('message')} (code {error.get('code')})")
        self.code = error.get("code")
        self.message = error.get("message")
        self.data = error.get("data")


class Client:
    """One connection to superbotd; one JSON message per line."""

    def __init__(self, path=None, addr=None, token=None, token_path=None, timeout=10.0):
        self.token = token or os.environ.get("SUPERBOT_TOKEN")
        self.token_path = token_path or os.environ.get("SUPERBOT_TOKEN_PATH")
        self.timeout = timeout
        if addr:
            host, _, port = addr.rpartition(":")
            self.sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
        else:
            self.path = path or os.environ.get("SUPERBOT_SOCKET") or DEFAULT_SOCKET
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(self.path)
        self.buf = b""
        self.pending = collections.deque()  # notifications read during calls
        self.next_id = 1
        if addr and not self._login():
            self.close()
            raise RPCError({"code": UNAUTHORIZED, "message": "TCP needs a token: token=, $SUPERBOT_TOKEN or the token file"})

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, params=None):
        """Calls method and returns its result; raises RPCError on an error
        answer. Logs in with the token once if the daemon asks for it."""
        try:
            return self._call(method, params)
        except RPCError as e:
            if e.code != UNAUTHORIZED or not self._login():
                raise
            return self._call(method, params)

    def subscribe(self, pattern, queue_size=0):
        """Subscribes this connection to bus events matching pattern ("*" is
        one topic segment, ">" the rest); returns the subscription id. The
        events come from events()."""
        params = {"pattern": pattern}
        if queue_size:
            params["queue_size"] = queue_size
        return self.call("events.subscribe", params)["subscription"]

    def unsubscribe(self, subscription):
        """Ends a subscription."""
        return self.call("events.unsubscribe", {"subscription": subscription})

    def next_event(self, timeout=None):
        """Returns the next bus event (a dict: subscription, topic, source,
        time, node, sequence, payload), or None when none came within
        timeout seconds (None: wait as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self.pending:
                msg = self.pending.popleft()
                if msg.get("method") == EVENT_METHOD:
                    return msg.get("params")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            msg = self._read(left)
            if msg is None:
                return None
            if "id" not in msg:
                self.pending.append(msg)

    def events(self, timeout=None):
        """Yields bus events until none comes within timeout (None: forever)."""
        while True:
            ev = self.next_event(timeout)
            if ev is None:
                return
            yield ev

    def place_order(self, symbol, side, quantity, price=None, strategy="manual",
                    order_type=None, time_in_force=None, client_order_id=None):
        """Places an order through the daemon's order actor (journal first,
        risk checks, paper or live) and returns it as recorded: a dict whose
        status is e.g. TRADE_ORDER_STATUS_NEW, or _UNKNOWN when the
        exchange's answer was lost (the daemon resolves it; never send the
        same order again, or send it with the same client_order_id).
        A limit order when price is given, else a market order."""
        params = {"strategy": strategy, "symbol": symbol.upper(), "side": side.upper(),
                  "quantity": str(quantity), "type": order_type or ("LIMIT" if price is not None else "MARKET")}
        if price is not None:
            params["price"] = str(price)
            params["time_in_force"] = time_in_force or "GTC"
        elif time_in_force:
            params["time_in_force"] = time_in_force
        if client_order_id:
            params["client_order_id"] = client_order_id
        return self.call("trading.order.place", params)["order"]

    def _login(self):
        token = self.token
        if not token and self.token_path and os.path.exists(self.token_path):
            with open(self.token_path, encoding="utf-8") as f:
                token = f.read().strip()
        if not token:
            return False
        self._call("auth.login", {"token": token})
        return True

    def _call(self, method, params):
        req = {"jsonrpc": "2.0", "method": method, "id": self.next_id}
        self.next_id += 1
        if params is not None:
            req["params"] = params
        self.sock.settimeout(self.timeout)
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read(max(0.0, deadline - time.monotonic()))
            if msg is None:
                raise TimeoutError(f"superbotd did not answer {method} within {self.timeout}s")
            if "id" not in msg:
                self.pending.append(msg)  # a notification: kept for events()
                continue
            if msg.get("id") != req["id"]:
                continue
            if "error" in msg:
                raise RPCError(msg["error"])
            return msg.get("result")

    def _read(self, timeout):
        """Reads one message; None when none came within timeout."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise ConnectionError("superbotd sent a line longer than %d bytes" % MAX_LINE)
            self.sock.settimeout(None if timeout is None else max(timeout, 0.001))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise ConnectionError("superbotd closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        params = json.loads(argv[2]) if len(argv) > 2 else None
    except ValueError as e:
        print(f"superbot_client: JSON-PARAMS: {e}", file=sys.stderr)
        return 2
    try:
        with Client() as c:
            print(json.dumps(c.call(argv[1], params), indent=2))
    except RPCError as e:
        print(f"superbot_client: {argv[1]}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"superbot_client: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
