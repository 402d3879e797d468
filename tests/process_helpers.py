"""Real processes for the distributed tests: a redis-server and `orchestrator worker` subprocesses.

Every process is started in its own session (its own process group), logged to a file under the
test's tmp_path, and killed (the whole group) when the test ends, whatever happened. Workers get
the same short timeouts as the in-process tests (conftest.FAST_SETTINGS) through the environment,
the way an operator configures a fleet.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import redis

from tests.redis_process import RedisProcess, free_port

ROOT = Path(__file__).resolve().parent.parent

FAST_WORKER_SETTINGS = {
    "ORCHESTRATOR_HEARTBEAT_INTERVAL": "0.5",
    "ORCHESTRATOR_LOST_STEP_TIMEOUT": "3",
    "ORCHESTRATOR_PROVISIONING_TIMEOUT": "3",
    "ORCHESTRATOR_SWEEP_INTERVAL": "0.05",
    "ORCHESTRATOR_WORKER_TTL": "5",
    "ORCHESTRATOR_CHILD_CHECK_INTERVAL": "2",
}


def orchestrator_command() -> list[str]:
    """The installed ``orchestrator`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "orchestrator"
    if script.exists():
        return [str(script)]
    found = shutil.which("orchestrator")
    if found:
        return [found]
    return [sys.executable, "-c", "from orchestrator.cli.app import main; main()"]


def process_env(redis_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRATOR_", "FLOWER_"))}
    env.update(FAST_WORKER_SETTINGS)
    env.update({
        "ORCHESTRATOR_REDIS_URL": redis_url,
        "ORCHESTRATOR_TEST_REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until ``predicate`` is truthy; a hang guard only (generous timeouts, no timing claims)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class ManagedProcess:
    """A subprocess in its own process group, with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def send(self, sig: int) -> None:
        """Signal the main process only (what `docker stop` or systemd do)."""
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process of the group: the main process and its pool children."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Teardown: SIGKILL the whole group (and any child that left it), reap, close the log."""
        try:
            descendants = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        self.kill_group(signal.SIGKILL)
        for child in descendants:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


class Cluster:
    """One test's Redis plus the worker (and Flower) processes it starts; ``close`` kills them all."""

    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.directory = directory
        self.redis_server = RedisProcess(directory / "redis", appendonly=appendonly).start()
        self.url = self.redis_server.url
        self.redis = redis.Redis.from_url(self.url, decode_responses=True)
        self.processes: list[ManagedProcess] = []
        self._clients: list[Any] = []
        self._count = 0

    # --- processes ------------------------------------------------------------------------
    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        self._count += 1
        process = ManagedProcess(name, args, process_env(self.url, env),
                                 self.directory / f"{self._count:02d}-{name}.log")
        self.processes.append(process)
        return process

    def start_worker(self, name: str, *, queues: str | None = None, concurrency: int = 2,
                     env: dict[str, str] | None = None, wait: bool = True,
                     loglevel: str = "INFO") -> ManagedProcess:
        """``orchestrator worker`` as a subprocess; waits until it is announced in orch:workers."""
        args = [*orchestrator_command(), "worker", "--concurrency", str(concurrency), "--hostname",
                f"{name}@%h", "--loglevel", loglevel]
        if queues:
            args += ["--queues", queues]
        process = self.spawn(name, args, env)
        process.node_name = None  # type: ignore[attr-defined]
        if wait:
            self.wait_announced(process)
        return process

    def wait_announced(self, process: ManagedProcess, timeout: float = 90) -> str:
        prefix = f"{process.name}@"

        def announced() -> str | None:
            if not process.alive():
                raise AssertionError(f"worker {process.name} exited:\n{process.log()[-4000:]}")
            for node, raw in self.redis.hgetall("orch:workers").items():
                if node.startswith(prefix) and json.loads(raw)["seen"] >= process_started(process):
                    return node
            return None

        node = wait_for(announced, timeout, f"worker {process.name} to announce itself")
        process.node_name = node  # type: ignore[attr-defined]
        return node

    def workers(self) -> dict[str, dict[str, Any]]:
        return {k: json.loads(v) for k, v in self.redis.hgetall("orch:workers").items()}

    # --- clients --------------------------------------------------------------------------
    def client(self) -> Any:
        from orchestrator import Client
        from orchestrator.config import load_settings

        client = Client(self.url, settings=load_settings().with_redis(self.url))
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
        for process in self.processes:
            process.stop()
        self.redis.close()
        self.redis_server.kill()

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} ({p.log_path.name})\n{p.log()[-6000:]}" for p in self.processes)


def process_started(process: ManagedProcess) -> float:
    try:
        return psutil.Process(process.pid).create_time()
    except psutil.NoSuchProcess:
        return 0.0


def pool_children(process: ManagedProcess) -> list[psutil.Process]:
    """The prefork pool processes of a worker (direct children of its main process)."""
    try:
        return psutil.Process(process.pid).children(recursive=False)
    except psutil.NoSuchProcess:
        return []


def attempts_started(events: list[tuple[str, dict]]) -> list[tuple[str, int]]:
    return [(e["node"], e["attempt"]) for _, e in events if e.get("type") == "attempt_started"]


__all__ = ["Cluster", "ManagedProcess", "ROOT", "attempts_started", "free_port", "orchestrator_command",
           "pool_children", "process_env", "wait_for"]


# --- fixtures (import them into a test module: ``from tests.process_helpers import cluster``) ----
import pytest  # noqa: E402


@pytest.fixture
def cluster(tmp_path: Path):
    """A fresh redis-server for one test plus whatever processes the test starts; all killed after."""
    instance = Cluster(tmp_path)
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def aof_cluster(tmp_path: Path):
    """Like ``cluster``, with Redis persisting every write (AOF, appendfsync always)."""
    instance = Cluster(tmp_path, appendonly=True)
    try:
        yield instance
    finally:
        instance.close()


def python_step(identifier: str, function: str, **kwargs: Any) -> dict[str, Any]:
    """A Python step calling ``tests.fault_steps:<function>(**kwargs)``; extra step keys via ``step=``."""
    from tests.pipeline_builders import py

    extra = kwargs.pop("step", {})
    step = py(identifier, **extra)
    step["step"]["spec"]["function"] = f"tests.fault_steps:{function}"
    step["step"]["spec"]["kwargs"] = kwargs
    return step


def seconds_between(start: float, iso_end: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso_end).timestamp() - start
