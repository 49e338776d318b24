"""An example strategy in Python: a module of type "python" that trades
through the daemon's order actor over JSON-RPC (see superbot.toml beside
this file). Standard library only, with clients/python/superbot_client.py.

It keeps the market's closed candles coming (market.subscribe), follows
them on the bus (events.subscribe "kline.SYMBOL.INTERVAL"), computes a
fast and a slow simple moving average of the closes, and when the fast one
crosses above the slow one while it holds nothing it buys QUANTITY; when it
crosses below while it holds, it sells what it holds. Orders go through
trading.order.place (journal first, risk checks, paper or live as [trading]
says); its fills come back as bus events ("fill.NAME.SYMBOL"), and its
position is what its fills add up to. One order at a time: a signal waits
until the order before it is done ("order.NAME.SYMBOL.STATUS").

Environment (the module's env in superbot.toml): STRATEGY (default: the
module's name), SYMBOL (BTCUSDT), INTERVAL (1m), QUANTITY (0.001), FAST (5),
SLOW (20).
"""
import os
import sys
from collections import deque
from decimal import Decimal

from clients.python.superbot_client import Client, RPCError

DONE = {"FILLED", "CANCELED", "REJECTED", "EXPIRED", "NOT_SENT"}


class SmaCross:
    """The strategy's logic, without I/O: closes in, signals out."""

    def __init__(self, fast, slow):
        if not 0 < fast < slow:
            raise ValueError(f"want 0 < FAST < SLOW, got {fast} and {slow}")
        self.fast, self.slow = fast, slow
        self.closes = deque(maxlen=slow)
        self.above = None  # was the fast average above the slow one?
        self.position = Decimal(0)

    def on_close(self, close):
        """Feeds one closed candle; returns "BUY", "SELL" or None."""
        self.closes.append(Decimal(str(close)))
        if len(self.closes) < self.slow:
            return None
        closes = list(self.closes)
        fast = sum(closes[-self.fast:]) / self.fast
        slow = sum(closes) / self.slow
        above, was = fast > slow, self.above
        self.above = above
        if was is None or above == was:
            return None
        if above and self.position == 0:
            return "BUY"
        if not above and self.position > 0:
            return "SELL"
        return None

    def on_fill(self, side, quantity):
        """Adds one fill to the position."""
        q = Decimal(str(quantity))
        self.position += q if side == "BUY" else -q


def log(msg):
    print(msg, flush=True)


def run(env):
    name = env.get("STRATEGY") or env.get("SUPERBOT_MODULE") or "py_sma"
    symbol, interval = env.get("SYMBOL", "BTCUSDT").upper(), env.get("INTERVAL", "1m")
    quantity = env.get("QUANTITY", "0.001")
    strat = SmaCross(int(env.get("FAST", "5")), int(env.get("SLOW", "20")))
    pending = None  # the client order id of the order not yet done
    with Client(timeout=30) as c:
        c.call("market.subscribe", {"symbol": symbol, "kind": "STREAM_KIND_KLINE", "interval": interval})
        c.subscribe(f"kline.{symbol}.{interval}")
        c.subscribe(f"fill.{name}.*")
        c.subscribe(f"order.{name}.>")
        log(f"{name}: trading {symbol} on {interval} candles, SMA {strat.fast}/{strat.slow}, quantity {quantity}")
        for ev in c.events():
            topic, payload = ev["topic"], ev.get("payload") or {}
            if topic.startswith("kline.") and payload.get("closed"):
                signal = strat.on_close(payload["kline"]["close"])
                if signal is None or pending:
                    continue
                qty = quantity if signal == "BUY" else str(strat.position)
                try:
                    order = c.place_order(symbol, signal, qty, strategy=name)
                except RPCError as e:
                    log(f"{name}: {signal} {qty} refused: {e}")
                    continue
                status = order["status"].removeprefix("TRADE_ORDER_STATUS_")
                pending = None if status in DONE else order["client_order_id"]
                log(f"{name}: {signal} {qty} {symbol}: order {order['client_order_id']} {status.lower()}")
            elif topic.startswith("fill."):
                fill = payload["fill"]
                strat.on_fill(fill["side"], fill["quantity"])
                log(f"{name}: fill {fill['side']} {fill['quantity']} at {fill['price']}: position {strat.position}")
            elif topic.startswith("order."):
                order = payload["order"]
                if order["client_order_id"] == pending and order["status"].removeprefix("TRADE_ORDER_STATUS_") in DONE:
                    pending = None


def main():
    try:
        run(os.environ)
    except KeyboardInterrupt:
        return 0
    except (OSError, RPCError, ValueError) as e:
        print(f"strategy: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
