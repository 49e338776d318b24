"""A FastAPI module for the modules tests: /health and /crash."""
import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health():
    return {"status": "ok", "module": os.environ.get("SUPERBOT_MODULE", "")}


@app.get("/crash")
def crash():
    os._exit(3)
