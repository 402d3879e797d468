"""Python steps for the fault tests (importable by every worker subprocess).

Each call is counted in Redis, so a test can tell how many times a step's code really ran, and the
process running it is recorded, so a test can kill exactly that process.
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis


def _client() -> redis.Redis:
    return redis.Redis.from_url(os.environ["ORCHESTRATOR_TEST_REDIS_URL"], decode_responses=True)


def sleep_once(key: str, seconds: float = 30.0) -> dict[str, Any]:
    """Record this call (pid, time), then sleep ``seconds`` on the first call only."""
    client = _client()
    calls = client.incr(f"{key}:calls")
    client.rpush(f"{key}:pids", os.getpid())
    if calls == 1:
        time.sleep(float(seconds))
    return {"calls": calls, "pid": os.getpid()}


def counted(key: str, seconds: float = 0.0) -> dict[str, Any]:
    """Count this call, then sleep ``seconds`` (every call)."""
    calls = _client().incr(f"{key}:calls")
    if seconds:
        time.sleep(float(seconds))
    return {"calls": calls}
