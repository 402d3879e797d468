"""Benchmark 3: scale. Per-step time and message size from 10 to 1000 steps, 1000 queued 5-step
pipelines at once, Redis memory per finished run, worker CPU per step (ours vs plain Celery).

    python -m bench.scale [--concurrency 2] [--runs 1000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psutil
import redis
from celery import chain

from bench.common import median, redis_server, report, workers
from bench.sequential import message_sizes, noop_pipeline, run_ours, run_plain
from orchestrator.config import load_settings


def cpu_seconds(procs: list) -> float:
    total = 0.0
    for proc in procs:
        try:
            root = psutil.Process(proc.pid)
            for p in [root, *root.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def per_step_times(client: Any, app: Any, lengths: list[int], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for steps in lengths:
        plan = noop_pipeline(steps, identifier=f"scale_{steps}")
        ours = [run_ours(client, plan) for _ in range(repeats)]
        out[steps] = {"ours_ms_per_step": 1000 * median(ours) / steps}
    base = out[lengths[0]]["ours_ms_per_step"]
    for steps in lengths:
        out[steps]["relative_to_shortest"] = out[steps]["ours_ms_per_step"] / base
    return out


def many_runs(client: Any, app: Any, url: str, procs: list, runs: int, steps: int) -> dict[str, Any]:
    from bench.plain_tasks import noop

    raw = redis.Redis.from_url(url)
    plan = noop_pipeline(steps, identifier="scale_many")
    raw.config_set("maxmemory-policy", "noeviction")
    mem_before = raw.info("memory")["used_memory"]
    cpu_before = cpu_seconds(procs)
    started = time.perf_counter()
    handles = [client.submit(plan) for _ in range(runs)]
    submit_s = time.perf_counter() - started
    for handle in handles:
        assert handle.wait(timeout=1800)["status"] == "Success"
    ours_s = time.perf_counter() - started
    ours_cpu = cpu_seconds(procs) - cpu_before
    mem_after = raw.info("memory")["used_memory"]

    cpu_before = cpu_seconds(procs)
    started = time.perf_counter()
    results = [chain(*(noop.si() for _ in range(steps))).apply_async() for _ in range(runs)]
    for result in results:
        result.get(timeout=1800)
    plain_s = time.perf_counter() - started
    plain_cpu = cpu_seconds(procs) - cpu_before
    total = runs * steps
    return {
        "runs": runs, "steps_per_run": steps,
        "ours_s": ours_s, "ours_submit_s": submit_s,
        "plain_s": plain_s, "ratio": ours_s / plain_s,
        "ours_steps_per_s": total / ours_s, "plain_tasks_per_s": total / plain_s,
        "ours_worker_cpu_ms_per_step": 1000 * ours_cpu / total,
        "plain_worker_cpu_ms_per_task": 1000 * plain_cpu / total,
        "redis_bytes_per_finished_run": (mem_after - mem_before) / runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from orchestrator.client import Client
    from workers.app import configure

    with redis_server() as url, workers(url, concurrency=args.concurrency) as procs:
        settings = load_settings().with_redis(url)
        client = Client(url, settings=settings)
        app = configure(settings)
        run_ours(client, noop_pipeline(5))
        run_plain(app, 5)
        lengths = per_step_times(client, app, [10, 100, 1000], args.repeats)
        many = many_runs(client, app, url, procs, args.runs, 5)
        sizes = message_sizes(url, client, app)
        client.close()
    report("scale", {"worker_concurrency": args.concurrency, "per_step_by_length": lengths,
                     "queued_runs": many, "message_bytes": sizes})


if __name__ == "__main__":
    main()
