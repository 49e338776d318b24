"""Unit tests of superbot_client against a fake daemon on a Unix socket.

Run: /usr/bin/python3 -m unittest discover -s clients/python
"""
import json
import os
import socket
import tempfile
import threading
import unittest

import superbot_client
from superbot_client import Client, RPCError


class FakeDaemon:
    """Answers JSON-RPC lines with handler(request) -> list of messages."""

    def __init__(self, handler, tcp=False):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "s.sock")
        if tcp:
            self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.srv.bind(("127.0.0.1", 0))
            self.addr = "127.0.0.1:%d" % self.srv.getsockname()[1]
        else:
            self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.srv.bind(self.path)
        self.srv.listen(1)
        self.handler = handler
        self.requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.srv.accept()
        with conn, conn.makefile("rb") as r:
            for line in r:
                req = json.loads(line)
                self.requests.append(req)
                for msg in self.handler(req):
                    conn.sendall(json.dumps(msg).encode() + b"\n")

    def close(self):
        self.srv.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
        os.rmdir(self.dir)


def result(req, res):
    return {"jsonrpc": "2.0", "id": req["id"], "result": res}


def event(sub, topic, payload):
    return {"jsonrpc": "2.0", "method": "events.event",
            "params": {"subscription": sub, "topic": topic, "source": "orders", "sequence": 1, "payload": payload}}


class ClientTest(unittest.TestCase):
    def serve(self, handler, tcp=False):
        d = FakeDaemon(handler, tcp)
        self.addCleanup(d.close)
        return d

    def test_call_and_error(self):
        def h(req):
            if req["method"] == "bad":
                return [{"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32004, "message": "no such", "data": ["a"]}}]
            return [result(req, {"echo": req.get("params")})]
        d = self.serve(h)
        with Client(path=d.path, timeout=5) as c:
            self.assertEqual(c.call("x", {"a": 1}), {"echo": {"a": 1}})
            with self.assertRaises(RPCError) as cm:
                c.call("bad")
            self.assertEqual((cm.exception.code, cm.exception.data), (-32004, ["a"]))

    def test_login_when_asked(self):
        tok = tempfile.NamedTemporaryFile("w", delete=False)
        tok.write("secret-token\n")
        tok.close()
        self.addCleanup(os.unlink, tok.name)
        state = {"in": False}

        def h(req):
            if req["method"] == "auth.login":
                state["in"] = req["params"]["token"] == "secret-token"
                return [result(req, {"ok": True})]
            if not state["in"]:
                return [{"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32001, "message": "unauthorized"}}]
            return [result(req, {"pid": 1})]
        d = self.serve(h)
        with Client(path=d.path, token_path=tok.name, timeout=5) as c:
            self.assertEqual(c.call("daemon.status"), {"pid": 1})
        self.assertEqual([r["method"] for r in d.requests], ["daemon.status", "auth.login", "daemon.status"])

    def test_tcp_logs_in_first(self):
        d = self.serve(lambda req: [result(req, {"ok": True})], tcp=True)
        with Client(addr=d.addr, token="t0k", timeout=5) as c:
            c.call("daemon.status")
        self.assertEqual([(r["method"], r.get("params")) for r in d.requests],
                         [("auth.login", {"token": "t0k"}), ("daemon.status", None)])

    def test_tcp_without_token(self):
        d = self.serve(lambda req: [], tcp=True)
        old = os.environ.pop("SUPERBOT_TOKEN", None), os.environ.pop("SUPERBOT_TOKEN_PATH", None)
        try:
            with self.assertRaises(RPCError) as cm:
                Client(addr=d.addr, timeout=5)
            self.assertEqual(cm.exception.code, superbot_client.UNAUTHORIZED)
        finally:
            for k, v in zip(("SUPERBOT_TOKEN", "SUPERBOT_TOKEN_PATH"), old):
                if v is not None:
                    os.environ[k] = v

    def test_events_read_during_a_call_are_kept(self):
        fill = {"fill": {"client_order_id": "sb-py-1", "price": "100", "quantity": "1"}}

        def h(req):
            if req["method"] == "events.subscribe":
                return [result(req, {"subscription": 7})]
            if req["method"] == "trading.order.place":
                # the fill's event overtakes the answer
                return [event(7, "fill.py.BTCUSDT", fill),
                        result(req, {"order": {"client_order_id": "sb-py-1", "status": "TRADE_ORDER_STATUS_FILLED"}})]
            return []
        d = self.serve(h)
        with Client(path=d.path, timeout=5) as c:
            self.assertEqual(c.subscribe("fill.py.*"), 7)
            order = c.place_order("btcusdt", "buy", 1, strategy="py")
            self.assertEqual(order["status"], "TRADE_ORDER_STATUS_FILLED")
            ev = c.next_event(timeout=5)
            self.assertEqual((ev["topic"], ev["payload"]), ("fill.py.BTCUSDT", fill))
            self.assertIsNone(c.next_event(timeout=0.05))
        place = d.requests[-1]
        self.assertEqual(place["params"], {"strategy": "py", "symbol": "BTCUSDT", "side": "BUY", "quantity": "1", "type": "MARKET"})

    def test_place_limit_order_params(self):
        d = self.serve(lambda req: [result(req, {"order": {}})])
        with Client(path=d.path, timeout=5) as c:
            c.place_order("ETHUSDT", "sell", "0.5", price="4000", client_order_id="my-1")
        self.assertEqual(d.requests[0]["params"], {"strategy": "manual", "symbol": "ETHUSDT", "side": "SELL", "quantity": "0.5",
                                                   "type": "LIMIT", "price": "4000", "time_in_force": "GTC", "client_order_id": "my-1"})

    def test_timeout(self):
        d = self.serve(lambda req: [])
        with Client(path=d.path, timeout=0.2) as c:
            with self.assertRaises(TimeoutError):
                c.call("never")

    def test_script_usage(self):
        self.assertEqual(superbot_client.main(["superbot_client.py"]), 2)
        self.assertEqual(superbot_client.main(["superbot_client.py", "x", "{bad"]), 2)


if __name__ == "__main__":
    unittest.main()
