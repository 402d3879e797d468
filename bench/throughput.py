"""Benchmark: throughput with many runs at once, and horizontal scaling.

A: 100 pipelines x 10 no-op Python steps, all submitted at once, waited for until the last ends.
B: 100 plain Celery chains x 10 no-op tasks (``bench.plain_tasks.noop``), all sent at once.
Same Redis, same worker processes (the plain task lives on the orchestrator's app), A and B
interleaved (A,B then B,A, ...) so noise hits both; done with 1 and with 2 worker nodes, each node
(one Celery main process + its pool processes) with concurrency 1 and with concurrency 2.

Then the cost of the task events Flower needs, on plain Celery (B only), 1 node:
ORCHESTRATOR_TASK_EVENTS=0 vs 1 (workers restarted for each, alternating), and 1 with Flower
attached (``orchestrator flower``, which also consumes the events).

    python -m bench.throughput [--pipelines 100] [--steps 10] [--pairs 5] [--concurrency 1,2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any

import httpx
from celery import chain

from bench.common import ROOT, free_port, median, redis_server, report, worker_env, workers
from bench.sequential import noop_pipeline
from orchestrator.config import load_settings


def run_ours(client: Any, plan: Any, pipelines: int) -> float:
    started = time.perf_counter()
    handles = [client.submit(plan) for _ in range(pipelines)]
    for handle in handles:
        doc = handle.wait(timeout=900)
        assert doc["status"] == "Success", doc["status"]
    return time.perf_counter() - started


def run_plain(pipelines: int, steps: int) -> float:
    from bench.plain_tasks import noop

    started = time.perf_counter()
    results = [chain(*(noop.si() for _ in range(steps))).apply_async() for _ in range(pipelines)]
    deadline = time.monotonic() + 900
    for result in results:
        # Polled, not result.get(): Celery 5.7's pub/sub result consumer sometimes never wakes up
        # for a chain's last result here (a hang of the baseline, not of the tasks).
        while not result.ready():
            if time.monotonic() > deadline:
                raise TimeoutError("plain chains did not finish")
            time.sleep(0.005)
    return time.perf_counter() - started


def summary(ours: list[float], plain: list[float], tasks: int) -> dict[str, Any]:
    return {
        "ours_s": ours, "plain_s": plain,
        "ours_median_s": median(ours), "plain_median_s": median(plain),
        "ours_tasks_per_s": tasks / median(ours), "plain_tasks_per_s": tasks / median(plain),
        "ratio": median(ours) / median(plain),
    }


def ab(client: Any, plan: Any, args: argparse.Namespace) -> dict[str, Any]:
    run_ours(client, noop_pipeline(3, "warm"), 5)  # warm both paths
    run_plain(5, 3)
    ours: list[float] = []
    plain: list[float] = []
    for pair in range(args.pairs):
        if pair % 2 == 0:
            ours.append(run_ours(client, plan, args.pipelines))
            plain.append(run_plain(args.pipelines, args.steps))
        else:
            plain.append(run_plain(args.pipelines, args.steps))
            ours.append(run_ours(client, plan, args.pipelines))
        print(f"  pair {pair + 1}: ours {ours[-1]:.2f}s plain {plain[-1]:.2f}s", flush=True)
    return summary(ours, plain, args.pipelines * args.steps)


@contextmanager
def flower(url: str) -> Any:
    """``orchestrator flower`` attached to the deployment (it consumes every event)."""
    port = free_port()
    env = worker_env(url, {"ORCHESTRATOR_FLOWER_AUTH": "bench:bench"})
    proc = subprocess.Popen([sys.executable, "-c", "from orchestrator.cli.app import main; main()", "flower",
                             "--port", str(port)], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        time.sleep(2)  # its event receiver is connected
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def event_cost(url: str, args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[float]] = {"off": [], "on": [], "on_with_flower": []}
    order = ["off", "on", "on_with_flower"]
    for repeat in range(args.event_repeats):
        for variant in order if repeat % 2 == 0 else list(reversed(order)):
            env = {"ORCHESTRATOR_TASK_EVENTS": "0" if variant == "off" else "1"}
            with workers(url, count=1, concurrency=args.concurrency, extra_env=env):
                run_plain(5, 3)
                if variant == "on_with_flower":
                    with flower(url):
                        runs[variant].append(run_plain(args.pipelines, args.steps))
                else:
                    runs[variant].append(run_plain(args.pipelines, args.steps))
            print(f"  events {variant}: {runs[variant][-1]:.2f}s", flush=True)
    tasks = args.pipelines * args.steps
    out: dict[str, Any] = {f"{k}_s": v for k, v in runs.items()}
    for key, values in runs.items():
        out[f"{key}_tasks_per_s"] = tasks / median(values)
    out["on_vs_off_time_ratio"] = median(runs["on"]) / median(runs["off"])
    out["flower_vs_off_time_ratio"] = median(runs["on_with_flower"]) / median(runs["off"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--concurrency", default="1,2", help="pool size(s) per node, comma-separated")
    parser.add_argument("--event-repeats", type=int, default=4)
    args = parser.parse_args()
    from orchestrator.client import Client
    from workers.app import configure

    concurrencies = [int(c) for c in args.concurrency.split(",")]
    args.concurrency = concurrencies[-1]  # the event-cost runs use the largest
    configs: dict[str, Any] = {}
    with redis_server() as url:
        settings = load_settings().with_redis(url)
        configure(settings)  # the plain tasks are sent through the workers' app
        client = Client(url, settings=settings)
        plan = noop_pipeline(args.steps, "bench_throughput")
        for concurrency in concurrencies:
            for nodes in (1, 2):
                print(f"{nodes} worker node(s) x concurrency {concurrency}", flush=True)
                with workers(url, count=nodes, concurrency=concurrency):
                    configs[f"{nodes}x{concurrency}"] = {"nodes": nodes, "concurrency": concurrency,
                                                         **ab(client, plan, args)}
        print(f"task events on plain Celery, 1 node x concurrency {args.concurrency}", flush=True)
        events = event_cost(url, args)
        client.close()
    scaling = {}
    for concurrency in concurrencies:
        one, two = configs[f"1x{concurrency}"], configs[f"2x{concurrency}"]
        scaling[f"concurrency_{concurrency}"] = {
            "ours": two["ours_tasks_per_s"] / one["ours_tasks_per_s"],
            "plain": two["plain_tasks_per_s"] / one["plain_tasks_per_s"]}
    report("throughput", {
        "pipelines": args.pipelines, "steps": args.steps, "tasks_per_batch": args.pipelines * args.steps,
        "pairs": args.pairs,
        "note": "2 shared, noisy cores: the bench client, Redis and every worker process share them",
        "configs": configs,
        "scaling_2_vs_1_nodes": scaling,
        "task_events_plain_celery": {"worker_concurrency": args.concurrency, **events},
    })


if __name__ == "__main__":
    main()
