"""A JSON-RPC 2.0 client of superbotd using only Python's standard library.

A module finds the daemon through the environment superbotd gives it:
SUPERBOT_SOCKET (the Unix socket) and SUPERBOT_TOKEN_PATH (the token file,
sent with auth.login when the daemon requires it). Outside a module, the
socket defaults to .superbot/superbot.sock in the working directory.

As a script:  python3 examples/ai/superbot_rpc.py METHOD [JSON-PARAMS]
"""
import json
import os
import socket
import sys

DEFAULT_SOCKET = os.path.join(".superbot", "superbot.sock")
UNAUTHORIZED = -32001


class RPCError(Exception):
    """An error answer: code, message and data as the daemon sent them."""

    def __init__(self, error):
        super().__init__(f"{error.get('message')} (code {error.get('code')})")
        self.code = error.get("code")
        self.data = error.get("data")


class Client:
    """One connection to superbotd; one JSON message per line."""

    def __init__(self, path=None, token_path=None, timeout=10.0):
        self.path = path or os.environ.get("SUPERBOT_SOCKET") or DEFAULT_SOCKET
        self.token_path = token_path or os.environ.get("SUPERBOT_TOKEN_PATH")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(self.path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 1

    def close(self):
        self.reader.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, params=None):
        """Calls method and returns its result; raises RPCError on an error
        answer. Logs in with the token file once if the daemon asks for it."""
        try:
            return self._call(method, params)
        except RPCError as e:
            if e.code != UNAUTHORIZED or not self._login():
                raise
            return self._call(method, params)

    def _login(self):
        if not self.token_path or not os.path.exists(self.token_path):
            return False
        with open(self.token_path, encoding="utf-8") as f:
            token = f.read().strip()
        self._call("auth.login", {"token": token})
        return True

    def _call(self, method, params):
        req = {"jsonrpc": "2.0", "method": method, "id": self.next_id}
        self.next_id += 1
        if params is not None:
            req["params"] = params
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while True:
            line = self.reader.readline()
            if not line:
                raise ConnectionError("superbotd closed the connection")
            msg = json.loads(line)
            if msg.get("id") != req["id"]:
                continue  # a notification
            if "error" in msg:
                raise RPCError(msg["error"])
            return msg.get("result")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    params = json.loads(argv[2]) if len(argv) > 2 else None
    try:
        with Client() as c:
            print(json.dumps(c.call(argv[1], params), indent=2))
    except RPCError as e:
        print(f"superbot_rpc: {argv[1]}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"superbot_rpc: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
