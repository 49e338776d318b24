"""A Flask module for the modules tests: /health and /crash."""
import os

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health():
    return {"status": "ok", "module": os.environ.get("SUPERBOT_MODULE", "")}


@app.get("/crash")
def crash():
    os._exit(3)
