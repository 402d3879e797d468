"""Finished runs expire after the retention period, and the run list forgets them."""

from __future__ import annotations

from orchestrator.state.keys import RUNS, RunKeys
from tests.pipeline_builders import pipeline, py, stage


def test_finished_run_state_expires_and_leaves_the_run_list(client) -> None:
    doc = client.submit(pipeline("retained", [stage("s", [py("a")])])).wait(60)
    keys = RunKeys(doc["run_id"])
    retention = client.settings.retention
    redis = client.store.redis
    for key in (keys.meta, keys.nodes, keys.attempts, keys.outputs, keys.events, keys.plan):
        assert 0 < redis.ttl(key) <= retention, key
    assert doc["run_id"] in client.store.list_runs(1000)
    # what the TTL does when it runs out:
    redis.delete(keys.meta, keys.nodes, keys.attempts, keys.outputs, keys.events, keys.plan)
    assert doc["run_id"] not in client.store.list_runs(1000)
    assert redis.zscore(RUNS, doc["run_id"]) is None


def test_a_running_run_does_not_expire(client) -> None:
    run = client.submit(pipeline("long_lived", [stage("s", [
        {"step": {"identifier": "w", "type": "Wait", "spec": {"duration": "1h"}}}])]))
    import time

    deadline = time.monotonic() + 30
    while run.document()["nodes"]["s.w"]["status"] != "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.store.redis.ttl(RunKeys(run.id).meta) == -1
    run.abort()
    run.wait(30)
    assert client.store.redis.ttl(RunKeys(run.id).meta) > 0
