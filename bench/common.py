"""Benchmark plumbing: a private redis-server, worker processes, medians and ratios.

Both sides of every A/B comparison use the same Redis and the same worker processes (the plain
Celery tasks are registered on the orchestrator's app), and pairs are interleaved so that noise on
a shared machine hits both sides alike.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from orchestrator.embedded import find_redis_server

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_server(appendonly: bool = False) -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    port = free_port()
    proc = subprocess.Popen([find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "yes" if appendonly else "no", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(500):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.01)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()


def worker_env(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "ORCHESTRATOR_REDIS_URL": url, "ORCHESTRATOR_CELERY_IMPORTS": "bench.plain_tasks",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update(extra or {})
    return env


@contextmanager
def workers(url: str, count: int = 1, concurrency: int = 2, pool: str = "prefork",
            extra_env: dict[str, str] | None = None) -> Iterator[list[subprocess.Popen]]:
    procs = [
        subprocess.Popen([sys.executable, "-m", "workers", "--concurrency", str(concurrency), "--pool", pool,
                          "--loglevel", "ERROR", "--hostname", f"bench{i}@%h"],
                         env=worker_env(url, extra_env), cwd=ROOT, start_new_session=True)
        for i in range(count)
    ]
    client = redis.Redis.from_url(url, decode_responses=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.hlen("orch:workers") < count:
        time.sleep(0.1)
    time.sleep(1.0)  # let every pool process come up
    try:
        yield procs
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def report(name: str, data: dict[str, Any]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    data = {"benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(), **data}
    (out / f"{name}.json").write_text(json.dumps(data, indent=2))
    print(json.dumps(data, indent=2))
