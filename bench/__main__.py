"""The benchmark suite in one command: ``python -m bench [--quick]``.

Runs each benchmark in its own process (fresh Redis, fresh workers), then prints the figures that
matter with the targets of the performance issue. Every comparison is A/B against plain Celery on
the same Redis and worker processes, in the same run; results land in bench/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

SUITE = {
    "sequential": (["--pairs", "5"], ["--pairs", "3"]),
    "throughput": (["--pairs", "5"], ["--pairs", "3", "--concurrency", "2", "--event-repeats", "2"]),
    "scale": (["--runs", "1000"], ["--runs", "300", "--repeats", "2"]),
    "failure_path": (["--runs", "10"], ["--runs", "5"]),
}


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def summarize() -> list[str]:
    lines = []
    seq = load("sequential")
    lines.append(f"sequential  {seq['steps']}-step pipeline vs {seq['steps']}-task chain: ratio {seq['ratio']:.2f} "
                 f"({seq['ours_ms_per_step']:.2f} vs {seq['plain_ms_per_step']:.2f} ms/step)  target <= 1.5: "
                 f"{verdict(seq['ratio'] <= 1.5)}")
    thr = load("throughput")
    for name, config in thr["configs"].items():
        lines.append(f"fan-out     {thr['pipelines']}x{thr['steps']} on {name} (nodes x concurrency): ratio "
                     f"{config['ratio']:.2f} ({config['ours_tasks_per_s']:.0f} vs {config['plain_tasks_per_s']:.0f} "
                     f"tasks/s)  target <= 1.5: {verdict(config['ratio'] <= 1.5)}")
    events = thr["task_events_plain_celery"]
    lines.append(f"events      plain Celery with task events on: {events['on_vs_off_time_ratio']:.2f}x the time "
                 f"(with Flower attached {events['flower_vs_off_time_ratio']:.2f}x)")
    scale = load("scale")
    per_step = scale["per_step_by_length"]
    spread = max(v["relative_to_shortest"] for v in per_step.values())
    spread_low = min(v["relative_to_shortest"] for v in per_step.values())
    flat = spread <= 1.2 and spread_low >= 0.8
    lines.append("scale       ms/step by pipeline length: " + ", ".join(
        f"{k}: {v['ours_ms_per_step']:.2f}" for k, v in per_step.items()) + f"  within 20%: {verdict(flat)}")
    sizes = scale["message_bytes"]
    lines.append(f"scale       bytes per step message, 10 vs 1000 steps: ours {sizes['ours']['10']} / "
                 f"{sizes['ours']['1000']}, plain chain {sizes['plain_chain']['10']} / {sizes['plain_chain']['1000']}")
    many = scale["queued_runs"]
    lines.append(f"scale       {many['runs']} queued {many['steps_per_run']}-step runs: ratio {many['ratio']:.2f}; worker "
                 f"CPU {many['ours_worker_cpu_ms_per_step']:.2f} ms/step vs {many['plain_worker_cpu_ms_per_task']:.2f} "
                 f"ms/task; Redis {many['redis_bytes_per_finished_run'] / 1024:.1f} KiB per finished run")
    lag = load("failure_path")
    for way in ("via_celery_countdown", "via_timer_set"):
        value = lag[way]["ours_lag_ms_median"]
        lines.append(f"retry lag   {way}: median {value:.1f} ms (plain Celery retry "
                     f"{lag[way]['plain_retry_lag_ms_median']:.1f} ms)  target < 250: {verdict(value < 250)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="fewer pairs and runs (a few minutes)")
    parser.add_argument("--only", nargs="*", choices=sorted(SUITE), help="run only these benchmarks")
    parser.add_argument("--summary", action="store_true", help="only print the summary of the last results")
    args = parser.parse_args()
    if not args.summary:
        for name in args.only or SUITE:
            full, quick = SUITE[name]
            print(f"== {name}", flush=True)
            subprocess.run([sys.executable, "-m", f"bench.{name}", *(quick if args.quick else full)], check=True,
                           stdout=subprocess.DEVNULL)
    print("\n".join(summarize()))


if __name__ == "__main__":
    main()
