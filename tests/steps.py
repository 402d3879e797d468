"""Python step functions used by the behaviour tests (importable by every worker)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import redis

from strategies.errors import StepError


def ok(value: Any = "ok") -> dict[str, Any]:
    return {"value": value}


def echo(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def fail(error_type: str = "Unknown", message: str = "failed on purpose") -> None:
    raise StepError(error_type, message)


def boom() -> None:
    raise RuntimeError("unexpected")


def sleep(seconds: float = 1.0) -> dict[str, Any]:
    time.sleep(float(seconds))
    return {"slept": seconds}


def fail_until(counter_key: str, succeed_on: int, error_type: str = "Unknown",
               redis_url: str | None = None) -> dict[str, Any]:
    """Fail until called for the ``succeed_on``-th time (counted in Redis, across workers)."""
    client = redis.Redis.from_url(redis_url or os.environ["ORCHESTRATOR_TEST_REDIS_URL"])
    calls = client.incr(counter_key)
    if calls < int(succeed_on):
        raise StepError(error_type, f"call {calls} fails")
    return {"calls": calls}


def touch(path: str) -> dict[str, Any]:
    Path(path).write_text(str(time.time()))
    return {"path": path}


def sleep_then_fail(seconds: float = 1.0, error_type: str = "Unknown") -> None:
    time.sleep(float(seconds))
    raise StepError(error_type, f"failed after {seconds}s")


def succeed_on_calls(counter_key: str, calls: list[int], error_type: str = "Unknown",
                     redis_url: str | None = None) -> dict[str, Any]:
    """Succeed only on the listed call numbers (counted in Redis); fail with ``error_type`` otherwise."""
    client = redis.Redis.from_url(redis_url or os.environ["ORCHESTRATOR_TEST_REDIS_URL"])
    call = client.incr(counter_key)
    if call not in [int(c) for c in calls]:
        raise StepError(error_type, f"call {call} fails")
    return {"call": call}


def sleep_then_touch(seconds: float, path: str) -> dict[str, Any]:
    """Sleeps, then leaves a mark: the mark shows the function was NOT interrupted."""
    time.sleep(float(seconds))
    Path(path).write_text("finished")
    return {"finished": True}
