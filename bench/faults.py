"""Benchmark: how fast faults are detected and recovered, with the default settings and with the
short settings the tests use. Real redis-server, real `orchestrator worker` subprocesses
(the process helpers of tests/process_helpers.py, the steps of tests/fault_steps.py).

* pool:      SIGKILL of the pool process running a step; its node lives on.
             detection = the attempt's ended_at (DelegateRestart) - the kill.
* node:      SIGKILL of a whole node while a second node lives (its sweeper fires the timer).
* reserved:  a node running one step (concurrency 1) has reserved a second one; the node is
             SIGKILLed: time until the reserved step starts on the surviving node (kombu's
             visibility-timeout restore, or the step's `queued` timer, whichever comes first).

    python -m bench.faults [--repeats 3] [--profiles default,fast]
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import median, report
from tests.pipeline_builders import parallel, pipeline, stage
from tests.process_helpers import Cluster, python_step, wait_for

PROFILES = {
    "default": {"ORCHESTRATOR_LOST_STEP_TIMEOUT": "10", "ORCHESTRATOR_HEARTBEAT_INTERVAL": "2",
                "ORCHESTRATOR_PROVISIONING_TIMEOUT": "60", "ORCHESTRATOR_WORKER_TTL": "10",
                "ORCHESTRATOR_VISIBILITY_TIMEOUT": "30", "ORCHESTRATOR_SWEEP_INTERVAL": "0.05"},
    "fast": {"ORCHESTRATOR_LOST_STEP_TIMEOUT": "3", "ORCHESTRATOR_HEARTBEAT_INTERVAL": "0.5",
             "ORCHESTRATOR_PROVISIONING_TIMEOUT": "3", "ORCHESTRATOR_WORKER_TTL": "5",
             "ORCHESTRATOR_VISIBILITY_TIMEOUT": "5", "ORCHESTRATOR_SWEEP_INTERVAL": "0.05"},
}


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def victim() -> dict:
    return pipeline("faults", [stage("s", [python_step("victim", "sleep_once", key="victim", seconds=120)])])


def pool_kill(cluster: Cluster) -> float:
    cluster.start_worker("w1")
    run = cluster.client().submit(victim())
    pid = int(wait_for(lambda: cluster.redis.lindex("victim:pids", 0), 90, "the step"))
    time.sleep(0.5)
    killed = time.time()
    os.kill(pid, signal.SIGKILL)
    doc = run.wait(300)
    return ts(doc["nodes"]["s.victim"]["attempt_log"][0]["ended_at"]) - killed


def node_kill(cluster: Cluster) -> float:
    doomed = cluster.start_worker("doomed")
    run = cluster.client().submit(victim())
    wait_for(lambda: cluster.redis.lindex("victim:pids", 0), 90, "the step")
    cluster.start_worker("survivor")
    time.sleep(0.5)
    killed = time.time()
    doomed.kill_group(signal.SIGKILL)
    doc = run.wait(300)
    return ts(doc["nodes"]["s.victim"]["attempt_log"][0]["ended_at"]) - killed


def reserved_kill(cluster: Cluster) -> dict[str, float]:
    doomed = cluster.start_worker("doomed", concurrency=1)
    run = cluster.client().submit(pipeline("reserved", [stage("s", [parallel(
        python_step("victim", "sleep_once", key="victim", seconds=120),
        python_step("reserved", "counted", key="reserved"),
    )])]))
    wait_for(lambda: cluster.redis.lindex("victim:pids", 0), 90, "the step")
    wait_for(lambda: cluster.redis.hlen("unacked") == 2, 30, "the second step to be reserved")
    cluster.start_worker("survivor")
    time.sleep(0.5)
    killed = time.time()
    doomed.kill_group(signal.SIGKILL)
    doc = run.wait(300)
    reserved = doc["nodes"]["s.reserved"]["attempt_log"][0]
    return {"lost_detected_s": ts(doc["nodes"]["s.victim"]["attempt_log"][0]["ended_at"]) - killed,
            "reserved_started_s": ts(reserved["started_at"]) - killed}


def measure(profile: str, repeats: int) -> dict[str, Any]:
    env = PROFILES[profile]
    os.environ.update(env)  # the bench's client arms the first steps' timers with the same values
    results: dict[str, list] = {"pool_kill_detection_s": [], "node_kill_detection_s": [], "reserved": []}
    for _ in range(repeats):
        for name, scenario in (("pool_kill_detection_s", pool_kill), ("node_kill_detection_s", node_kill),
                               ("reserved", reserved_kill)):
            cluster = Cluster(Path(tempfile.mkdtemp(prefix="bench-faults-")))
            original = cluster.start_worker

            def start_worker(name: str, **kwargs: Any) -> Any:
                kwargs["env"] = {**env, **(kwargs.get("env") or {})}
                kwargs.setdefault("loglevel", "WARNING")
                return original(name, **kwargs)

            cluster.start_worker = start_worker  # type: ignore[method-assign]
            try:
                value = scenario(cluster)
            finally:
                cluster.close()
            results[name].append(value)
            print(f"  {profile} {name}: {value}", flush=True)
    reserved = results.pop("reserved")
    out: dict[str, Any] = {"settings": env, **results}
    out["pool_kill_detection_median_s"] = median(results["pool_kill_detection_s"])
    out["node_kill_detection_median_s"] = median(results["node_kill_detection_s"])
    out["reserved_kill"] = reserved
    out["reserved_started_median_s"] = median([r["reserved_started_s"] for r in reserved])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profiles", default="default,fast")
    args = parser.parse_args()
    data = {name: measure(name, args.repeats) for name in args.profiles.split(",")}
    report("faults", {"repeats": args.repeats, "profiles": data})


if __name__ == "__main__":
    main()
