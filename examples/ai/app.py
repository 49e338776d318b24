"""The ai example module: a tiny FastAPI app that superbotd runs with uvicorn
(see superbot.toml beside this file).

GET  /health       the module's health check (healthcheck_endpoint)
GET  /daemon       asks the daemon who it is (daemon.status), through the
                   socket in SUPERBOT_SOCKET
POST /signal       publishes {"symbol": ..., "side": ...} on the bus as
                   ai.signal (events.publish); "superbot events tail 'ai.>'"
                   shows it

Handlers are plain functions: FastAPI runs them on its thread pool, so the
blocking socket calls do not stall the event loop.
"""
import os

from fastapi import FastAPI
from pydantic import BaseModel

from clients.python.superbot_client import Client

app = FastAPI(title="superbot ai example")
MODULE = os.environ.get("SUPERBOT_MODULE", "ai")


class Signal(BaseModel):
    symbol: str
    side: str = "buy"


@app.get("/health")
def health():
    return {"status": "ok", "module": MODULE}


@app.get("/daemon")
def daemon():
    with Client() as c:
        st = c.call("daemon.status")
    return {"module": MODULE, "daemon_pid": st.get("pid"), "version": st.get("version"), "node": st.get("node")}


@app.post("/signal")
def signal(sig: Signal):
    with Client() as c:
        res = c.call("events.publish", {"topic": "ai.signal", "source": MODULE,
                                        "payload": {"symbol": sig.symbol.upper(), "side": sig.side}})
    return {"published": True, "result": res}
