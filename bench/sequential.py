"""Benchmark 1: a 100-step sequential pipeline of no-op Python steps vs a plain Celery chain of
100 no-op tasks, same Redis, same worker processes, interleaved A/B pairs; plus the size of the
message a step travels in, for 10- and 1000-step pipelines (ours stays flat, a chain's grows).

    python -m bench.sequential [--steps 100] [--pairs 5] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import redis
from celery import chain

from bench.common import median, redis_server, report, workers
from orchestrator.config import load_settings
from orchestrator.coordinator.commands import Publish
from orchestrator.model import PipelineFile
from orchestrator.plan.compile import compile_plan
from orchestrator.plan.model import Plan

INSPECT_QUEUE = "bench-inspect"


def noop_pipeline(steps: int, identifier: str = "bench_seq") -> Plan:
    document = {"pipeline": {"identifier": identifier, "stages": [{"stage": {
        "identifier": "s", "type": "Custom", "spec": {"execution": {"steps": [
            {"step": {"identifier": f"step_{i}", "type": "Python",
                      "spec": {"function": "bench.plain_tasks:noop_step"}}}
            for i in range(steps)]}}}}]}}
    return compile_plan(PipelineFile.model_validate(document).pipeline)


def run_ours(client: Any, plan: Plan) -> float:
    started = time.perf_counter()
    doc = client.submit(plan).wait(timeout=600)
    elapsed = time.perf_counter() - started
    assert doc["status"] == "Success", doc["status"]
    return elapsed


def run_plain(app: Any, steps: int) -> float:
    from bench.plain_tasks import noop

    started = time.perf_counter()
    chain(*(noop.si() for _ in range(steps))).apply_async().get(timeout=600)
    return time.perf_counter() - started


def message_sizes(url: str, client: Any, app: Any) -> dict[str, Any]:
    """Bytes of the first message of a run/chain of 10 and of 1000 steps (nobody consumes the queue)."""
    from bench.plain_tasks import noop
    from workers.runtime import CeleryPublisher

    raw = redis.Redis.from_url(url)
    publisher = CeleryPublisher(app)
    sizes: dict[str, Any] = {"ours": {}, "plain_chain": {}}
    for steps in (10, 1000):
        raw.delete(INSPECT_QUEUE)
        last = f"s.step_{steps - 1}"
        publisher.publish("20260101-000000-00000000", Publish(last, 1, INSPECT_QUEUE, "Python"))
        sizes["ours"][steps] = len(raw.lindex(INSPECT_QUEUE, 0))
        raw.delete(INSPECT_QUEUE)
        chain(*(noop.si() for _ in range(steps))).apply_async(queue=INSPECT_QUEUE)
        sizes["plain_chain"][steps] = len(raw.lindex(INSPECT_QUEUE, 0))
        raw.delete(INSPECT_QUEUE)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    from orchestrator.client import Client
    from workers.app import configure

    with redis_server() as url, workers(url, concurrency=args.concurrency):
        settings = load_settings().with_redis(url)
        client = Client(url, settings=settings)
        app = configure(settings)  # the plain tasks live on the workers' app
        plan = noop_pipeline(args.steps)
        run_ours(client, noop_pipeline(5))  # warm both paths
        run_plain(app, 5)
        ours, plain = [], []
        for pair in range(args.pairs):  # alternate which side goes first
            if pair % 2 == 0:
                ours.append(run_ours(client, plan))
                plain.append(run_plain(app, args.steps))
            else:
                plain.append(run_plain(app, args.steps))
                ours.append(run_ours(client, plan))
        sizes = message_sizes(url, client, app)
        client.close()
    report("sequential", {
        "steps": args.steps, "pairs": args.pairs, "worker_concurrency": args.concurrency,
        "ours_s": ours, "plain_s": plain,
        "ours_median_s": median(ours), "plain_median_s": median(plain),
        "ours_ms_per_step": 1000 * median(ours) / args.steps,
        "plain_ms_per_step": 1000 * median(plain) / args.steps,
        "ratio": median(ours) / median(plain),
        "message_bytes": sizes,
    })


if __name__ == "__main__":
    main()
