"""Redis restarted in the middle of a run (AOF on, appendfsync always), with real worker
subprocesses: the run completes and every step is recorded exactly once per attempt.

What makes it work: Redis persists every write before answering; workers reconnect (the Celery
consumer with kombu's reconnect loop, the timer sweeper and heartbeats retrying, a step retrying
its start and the commit of its outcome for up to 60 s); redis-py clients retry; a message that
comes back twice is ignored because its attempt is no longer Queued.
"""

from __future__ import annotations

import time

from tests.pipeline_builders import pipeline, stage
from tests.process_helpers import Cluster, attempts_started, python_step, wait_for

STEPS = 20


def test_redis_restart_mid_pipeline_loses_and_duplicates_nothing(aof_cluster: Cluster) -> None:
    cluster = aof_cluster
    cluster.start_worker("w1", concurrency=2)
    cluster.start_worker("w2", concurrency=2)
    client = cluster.client()
    run = client.submit(pipeline("restart", [stage("s", [
        python_step(f"step{i}", "counted", key=f"step{i}", seconds=0.3) for i in range(STEPS)
    ])]))
    # Kill Redis while step 5 is running: its outcome must be recorded after the restart.
    wait_for(lambda: cluster.redis.get("step5:calls"), 120, "step 5 to start")
    cluster.redis_server.kill()
    time.sleep(1.0)
    cluster.redis_server.start()

    doc = run.wait(240)
    assert doc["status"] == "Success", cluster.logs()
    for i in range(STEPS):
        node = doc["nodes"][f"s.step{i}"]
        assert node["status"] == "Success"
        assert node["attempts"] == 1, (i, node)
        assert len(node["attempt_log"]) == 1, (i, node)
        assert int(cluster.redis.get(f"step{i}:calls")) == 1, f"step{i} ran more than once"
    started = attempts_started(run.events())
    assert len(started) == STEPS and len(set(started)) == STEPS, started
    logs = cluster.logs()
    assert "Unrecoverable error" not in logs
    assert all(p.alive() for p in cluster.processes), "every worker reconnected instead of exiting"
