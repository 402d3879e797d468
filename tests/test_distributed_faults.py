"""Faults a fleet has every day, with real `orchestrator worker` subprocesses on a real Redis:

* SIGKILL of the pool process running a step (the OOM killer's favourite);
* SIGKILL of a whole worker node (every process of it), after which a new node starts;
* SIGTERM of a worker node (a deploy, `docker stop`): warm shutdown.

Workers run with ORCHESTRATOR_LOST_STEP_TIMEOUT=3 and ORCHESTRATOR_HEARTBEAT_INTERVAL=0.5 (see
tests/process_helpers.py). A killed step is detected by its `lost` timer and fails with
DelegateRestart; ``DelegateRestart -> Retry`` then re-runs it as attempt 2. The message of the
killed attempt comes back (at once for a killed pool process: task_reject_on_worker_lost; after
the visibility timeout for a killed node) and must be ignored, never run again as attempt 1.

Detection times (kill -> the attempt's ended_at) are printed; docs/distributed.md has the
figures measured by bench/faults.py with the default settings.
"""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from tests.pipeline_builders import on, parallel, pipeline, py, retry, stage
from tests.process_helpers import (
    Cluster,
    attempts_started,
    pool_children,
    python_step,
    seconds_between,
    wait_for,
)

VICTIM = "s.victim"
RESTORE_SOON = {"ORCHESTRATOR_VISIBILITY_TIMEOUT": "5"}


def victim_pipeline(strategy: str) -> dict:
    strategies = [on("DelegateRestart", "Retry", **retry(1, ["1s"]))] if strategy == "retry" else None
    return pipeline("faults", [stage("s", [
        # Sleeps a minute on its first call only, so attempt 2 (if any) finishes at once.
        python_step("victim", "sleep_once", key="victim", seconds=60, step={"strategies": strategies}),
        py("after"),
    ])])


def running_pid(cluster: Cluster) -> int:
    return int(wait_for(lambda: cluster.redis.lindex("victim:pids", 0), 90, "the victim step to start"))


def check_outcome(cluster: Cluster, client, run, strategy: str, killed_at: float) -> dict:  # noqa: ANN001
    doc = run.wait(180)
    step = doc["nodes"][VICTIM]
    first = step["attempt_log"][0]
    assert first["status"] == "Failed" and first["error_type"] == "DelegateRestart", step
    print(f"\ndetection: {seconds_between(killed_at, first['ended_at']):.2f}s after the kill "
          f"(lost_step_timeout 3 s, heartbeat 0.5 s)")
    started = attempts_started(run.events())
    assert len(started) == len(set(started)), f"an attempt started twice: {started}"
    if strategy == "retry":
        assert doc["status"] == "Success", cluster.logs()
        assert step["status"] == "Success" and step["attempts"] == 2
        assert [a["attempt"] for a in step["attempt_log"]] == [1, 2]
        assert step["attempt_log"][1]["status"] == "Success"
        assert started == [(VICTIM, 1), (VICTIM, 2), ("s.after", 1)]
        expected_calls = 2
    else:
        assert doc["status"] == "Failed"
        assert step["status"] == "Failed" and step["error_type"] == "DelegateRestart"
        assert step["attempts"] == 1 and len(step["attempt_log"]) == 1
        assert doc["nodes"]["s.after"]["status"] == "Skipped"
        assert started == [(VICTIM, 1)]
        expected_calls = 1
    assert int(cluster.redis.get("victim:calls")) == expected_calls, "the killed attempt ran again"
    return doc


def wait_redelivery_ignored(cluster: Cluster, process) -> None:  # noqa: ANN001
    """The killed attempt's message came back to a worker, which ignored it."""
    wait_for(lambda: f"step {VICTIM} attempt 1 not queued" in process.log(), 90,
             "the redelivered message of attempt 1 to be ignored")
    wait_for(lambda: cluster.redis.hlen("unacked") == 0, 60, "no unacknowledged message left")


@pytest.mark.parametrize("strategy", ["retry", "none"])
def test_sigkill_of_the_pool_process_running_a_step(cluster: Cluster, strategy: str) -> None:
    worker = cluster.start_worker("w1", concurrency=2)
    client = cluster.client()
    run = client.submit(victim_pipeline(strategy))
    pid = running_pid(cluster)
    children = {child.pid: child for child in pool_children(worker)}
    assert pid in children, f"the step runs in {pid}, not in a pool process of the worker ({list(children)})"
    assert children[pid].ppid() == worker.pid

    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    # task_reject_on_worker_lost puts the message back at once; the worker ignores it.
    wait_redelivery_ignored(cluster, worker)
    doc = check_outcome(cluster, client, run, strategy, killed_at)
    assert worker.alive(), "the worker node survives the loss of a pool process"
    if strategy == "retry":
        assert doc["nodes"][VICTIM]["attempt_log"][1]["worker"] == worker.node_name


@pytest.mark.parametrize("strategy", ["retry", "none"])
def test_sigkill_of_a_whole_worker_then_a_new_one_starts(cluster: Cluster, strategy: str) -> None:
    doomed = cluster.start_worker("doomed", concurrency=2, env=RESTORE_SOON)
    client = cluster.client()
    run = client.submit(victim_pipeline(strategy))
    pid = running_pid(cluster)
    group = [psutil.Process(doomed.pid), *pool_children(doomed)]
    assert pid in {p.pid for p in group}

    killed_at = time.time()
    doomed.kill_group(signal.SIGKILL)
    doomed.wait(30)
    psutil.wait_procs(group, timeout=30)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in group)
    replacement = cluster.start_worker("replacement", concurrency=2, env=RESTORE_SOON)

    doc = check_outcome(cluster, client, run, strategy, killed_at)
    if strategy == "retry":
        assert doc["nodes"][VICTIM]["attempt_log"][1]["worker"] == replacement.node_name
    # The killed node's unacknowledged message comes back after the visibility timeout (5 s here)
    # and is ignored: attempt 1 is over.
    wait_redelivery_ignored(cluster, replacement)
    assert int(cluster.redis.get("victim:calls")) == (2 if strategy == "retry" else 1)


def test_sigterm_finishes_the_running_step_and_hands_back_the_rest(cluster: Cluster) -> None:
    leaving = cluster.start_worker("leaving", concurrency=1)
    client = cluster.client()
    run = client.submit(pipeline("graceful", [stage("s", [
        parallel(python_step("slow", "counted", key="slow", seconds=3),
                 python_step("waiting", "counted", key="waiting")),
        py("after"),
    ])]))
    wait_for(lambda: cluster.redis.get("slow:calls"), 90, "the 3 s step to start")
    leaving.send(signal.SIGTERM)  # the main process only, as `docker stop` does
    staying = cluster.start_worker("staying", concurrency=2)
    assert leaving.wait(120) == 0
    assert "Warm shutdown" in leaving.log()
    assert leaving.node_name not in cluster.workers(), "a stopped node retires from orch:workers"

    doc = run.wait(120)
    assert doc["status"] == "Success", cluster.logs()
    nodes = doc["nodes"]
    assert nodes["s.slow"]["attempts"] == 1 and len(nodes["s.slow"]["attempt_log"]) == 1
    assert nodes["s.slow"]["attempt_log"][0]["worker"] == leaving.node_name, "finished where it ran"
    assert int(cluster.redis.get("slow:calls")) == 1
    # The step the leaving node had taken but not started went back and ran once, elsewhere.
    assert nodes["s.waiting"]["attempts"] == 1
    assert nodes["s.waiting"]["attempt_log"][0]["worker"] == staying.node_name
    assert int(cluster.redis.get("waiting:calls")) == 1
    started = attempts_started(run.events())
    assert sorted(started) == [("s.after", 1), ("s.slow", 1), ("s.waiting", 1)]
