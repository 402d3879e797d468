"""Plain Celery tasks on the orchestrator's own app, the baseline every benchmark compares with."""

from __future__ import annotations

from workers.app import app


@app.task(name="bench.noop")
def noop(*_: object) -> None:
    return None


def noop_step() -> None:
    """The no-op Python step (``spec.function: bench.plain_tasks:noop_step``)."""
    return None


@app.task(name="bench.retrying", bind=True, max_retries=None)
def retrying(self, retries: int, interval: float, key: str, redis_url: str, _scheduled: float = 0) -> None:
    """Plain Celery's own retry loop: records (scheduled, started) pairs to measure lag."""
    import json
    import time

    import redis

    started = time.time()
    client = redis.Redis.from_url(redis_url)
    scheduled = self.request.kwargs.get("_scheduled") if self.request.kwargs else None
    if scheduled:
        client.rpush(key, json.dumps([scheduled, started]))
    if self.request.retries < retries:
        raise self.retry(countdown=interval, kwargs={"retries": retries, "interval": interval, "key": key,
                                                     "redis_url": redis_url, "_scheduled": time.time() + interval})
    client.rpush(key + ":done", 1)


def always_fails() -> None:
    raise RuntimeError("fails on purpose")
