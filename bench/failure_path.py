"""Benchmark 4: the failure path. A step that fails and is retried 3 times with 1 s intervals:
the lag between each retry's deadline (failure + interval) and the retry attempt starting, for
waits through Celery's countdown and through the coordinator's timer set, next to plain Celery's
own ``self.retry(countdown=1)``.

    python -m bench.failure_path [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import datetime
from typing import Any

import redis

from bench.common import median, redis_server, report, workers
from orchestrator.config import load_settings
from orchestrator.model import PipelineFile
from orchestrator.plan.compile import compile_plan


def retry_plan(identifier: str) -> Any:
    document = {"pipeline": {"identifier": identifier, "stages": [{"stage": {
        "identifier": "s", "type": "Custom", "spec": {"execution": {"steps": [{"step": {
            "identifier": "flaky", "type": "Python", "spec": {"function": "bench.plain_tasks:always_fails"},
            "failureStrategies": [{"onFailure": {"errors": ["AllErrors"], "action": {
                "type": "Retry", "spec": {"retryCount": 3, "retryIntervals": ["1s"],
                                          "onRetryFailure": {"action": {"type": "Ignore"}}}}}}],
        }}]}}}}]}}
    return compile_plan(PipelineFile.model_validate(document).pipeline)


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def ours_lags(client: Any, runs: int) -> list[float]:
    plan = retry_plan("bench_retry")
    lags: list[float] = []
    handles = [client.submit(plan) for _ in range(runs)]
    for handle in handles:
        log = handle.wait(timeout=120)["nodes"]["s.flaky"]["attempt_log"]
        assert len(log) == 4
        for before, after in zip(log, log[1:]):
            lags.append(ts(after["started_at"]) - (ts(before["ended_at"]) + 1.0))
    return lags


def plain_lags(app: Any, url: str, runs: int) -> list[float]:
    from bench.plain_tasks import retrying

    raw = redis.Redis.from_url(url)
    keys = []
    for _ in range(runs):
        key = f"bench:retry:{uuid.uuid4().hex}"
        keys.append(key)
        retrying.apply_async(kwargs={"retries": 3, "interval": 1.0, "key": key, "redis_url": url})
    lags: list[float] = []
    for key in keys:
        deadline = time.monotonic() + 120
        while not raw.llen(key + ":done") and time.monotonic() < deadline:
            time.sleep(0.05)
        for item in raw.lrange(key, 0, -1):
            scheduled, started = json.loads(item)
            lags.append(started - scheduled)
    return lags


def phase(url: str, runs: int, short_retry_max: str, concurrency: int,
          extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    extra_env = extra_env or {}
    from orchestrator.client import Client
    from workers.app import configure

    with workers(url, concurrency=concurrency, extra_env={"ORCHESTRATOR_SHORT_RETRY_MAX": short_retry_max,
                                                        **extra_env}):
        settings = load_settings().with_redis(url)
        client = Client(url, settings=settings)
        app = configure(settings)
        ours = ours_lags(client, runs)
        plain = plain_lags(app, url, runs)
        client.close()
    return {"ours_lag_ms_median": 1000 * median(ours), "ours_lag_ms_max": 1000 * max(ours),
            "plain_retry_lag_ms_median": 1000 * median(plain), "samples": len(ours)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with redis_server() as url:
        countdown = phase(url, args.runs, "10", args.concurrency)
        timers = phase(url, args.runs, "0", args.concurrency)
        fast = phase(url, args.runs, "0", args.concurrency, {"ORCHESTRATOR_SWEEP_INTERVAL": "0.01"})
    report("failure_path", {"runs": args.runs, "retries_per_run": 3, "interval_s": 1,
                            "via_celery_countdown": countdown, "via_timer_set": timers, "via_timer_set_sweep_10ms": fast})


if __name__ == "__main__":
    main()
