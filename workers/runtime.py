"""Per-process coordinator objects (store, engine, publisher), created lazily after fork."""

from __future__ import annotations

import os
import socket
import threading

from celery import Celery
from celery.canvas import Signature

from orchestrator.config import Settings
from orchestrator.coordinator.commands import Publish
from orchestrator.coordinator.engine import Engine
from orchestrator.state.store import RunStore

STEP_TASK_PREFIX = "orchestrator.step."
STEP_FAILED_TASK = "orchestrator.step_failed"

_lock = threading.Lock()
_settings: Settings | None = None
_engine: Engine | None = None
_pid: int | None = None


def step_task_name(step_type: str) -> str:
    return STEP_TASK_PREFIX + step_type


def step_task_id(run_id: str, node: str, attempt: int) -> str:
    """(run, node, attempt) names a task: a redelivered or duplicated message keeps its identity."""
    return f"{run_id}:{node}:{attempt}"


class CeleryPublisher:
    def __init__(self, app: Celery) -> None:
        self.app = app
        self.errback = Signature(STEP_FAILED_TASK, app=app)

    def publish(self, run_id: str, command: Publish) -> None:
        self.app.send_task(
            step_task_name(command.step_type),
            args=(run_id, command.node, command.attempt),
            task_id=step_task_id(run_id, command.node, command.attempt),
            queue=command.queue,
            countdown=command.countdown or None,
            soft_time_limit=command.soft_time_limit,
            link_error=self.errback,
        )


def reset(settings: Settings) -> None:
    global _settings, _engine
    with _lock:
        _settings = settings
        _engine = None


def settings() -> Settings:
    assert _settings is not None, "workers.app.configure() first"
    return _settings


def engine() -> Engine:
    global _engine, _pid
    if _engine is None or _pid != os.getpid():
        with _lock:
            if _engine is None or _pid != os.getpid():
                from workers.app import app

                config = settings()
                store = RunStore.from_url(config.redis_url or "")
                _engine = Engine(store, config, CeleryPublisher(app))
                _pid = os.getpid()
    return _engine


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
