"""Failure strategies at run time (SPEC §5, §6, §8), on a real Redis and a real Celery worker."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import psutil
import pytest

from orchestrator.coordinator.transitions import OperatorError
from tests.pipeline_builders import (
    child_stage, group, on, parallel, pipeline, py, retry, shell, stage, write_yaml,
)


def ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def wait_until(run: Any, predicate: Callable[[dict], bool], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = run.document()
        if predicate(doc):
            return doc
        time.sleep(0.05)
    raise AssertionError(f"condition not reached; run is {run.document()}")


def node_status(node: str, status: str) -> Callable[[dict], bool]:
    return lambda doc: doc["nodes"][node]["status"] == status


def flaky(identifier: str, succeed_on: int, redis_url: str, error_type: str = "Unknown", **kw: Any) -> dict:
    """A step that fails until its ``succeed_on``-th call."""
    return py(identifier, "fail_until", kwargs={"counter_key": f"calls:{uuid.uuid4().hex}",
                                               "succeed_on": succeed_on, "error_type": error_type,
                                               "redis_url": redis_url}, **kw)


# --- the seed document's two examples ----------------------------------------------------------

def test_seed_stage_rollback_is_not_a_failure_for_the_next_stage(client) -> None:
    doc = client.submit(pipeline("seed_rollback", [
        stage("stage1", [py("deploy", "fail")], rollback=[py("undo")],
              strategies=[on("AllErrors", "StageRollback")]),
        stage("stage2", [py("on_failure")], when={"pipelineStatus": "Failure"}),
    ])).wait(60)
    assert doc["nodes"]["stage1"]["status"] == "RolledBack"
    assert doc["nodes"]["stage1"]["error_type"] == "Unknown"  # as in SPEC §10's run document
    assert doc["nodes"]["stage1.rollback.undo"]["status"] == "Success"
    assert doc["nodes"]["stage2"]["status"] == "Skipped"


def test_seed_ignore_lets_the_failure_gated_stage_run(client) -> None:
    doc = client.submit(pipeline("seed_ignore", [
        stage("stage1", [py("deploy", "fail")], rollback=[py("undo")], strategies=[on("AllErrors", "Ignore")]),
        stage("stage2", [py("on_failure")], when={"pipelineStatus": "Failure"}),
    ])).wait(60)
    assert doc["nodes"]["stage1"]["status"] == "IgnoreFailed"
    assert doc["nodes"]["stage1.rollback.undo"]["status"] == "NotStarted"
    assert doc["nodes"]["stage2"]["status"] == "Success"
    assert doc["status"] == "IgnoreFailed"


# --- resolution at run time ------------------------------------------------------------------

@pytest.mark.parametrize("error_type, expected", [("Timeout", "Success"), ("Connectivity", "IgnoreFailed")])
def test_step_overrides_one_type_and_inherits_the_stage_for_others(client, error_type: str, expected: str) -> None:
    doc = client.submit(pipeline("override", [stage("s", [
        py("a", "fail", kwargs={"error_type": error_type}, strategies=[on("Timeout", "MarkAsSuccess")]),
    ], strategies=[on("AllErrors", "Ignore")])])).wait(60)
    node = doc["nodes"]["s.a"]
    assert node["status"] == expected and node["error_type"] == error_type
    assert node["action"] == ("MarkAsSuccess" if error_type == "Timeout" else "Ignore")


# --- Retry -----------------------------------------------------------------------------------

def test_retry_runs_retry_count_plus_one_with_the_intervals_then_on_retry_failure(client) -> None:
    # 1s goes through Celery's countdown, 2s (> ORCHESTRATOR_SHORT_RETRY_MAX=1 in tests) through
    # the timer set; the last interval repeats.
    doc = client.submit(pipeline("retry", [stage("s", [
        py("a", "fail", strategies=[on("AllErrors", "Retry", **retry(3, ["1s", "2s"], then="Ignore"))]),
    ])])).wait(60)
    node = doc["nodes"]["s.a"]
    assert node["attempts"] == 4 and len(node["attempt_log"]) == 4
    assert node["status"] == "IgnoreFailed" and node["action"] == "Ignore"
    log = node["attempt_log"]
    gaps = [ts(log[i + 1]["started_at"]) - ts(log[i]["ended_at"]) for i in range(3)]
    for gap, interval in zip(gaps, [1, 2, 2]):
        assert gap >= interval - 0.05, gaps
    assert [a["action"] for a in log] == ["Retry", "Retry", "Retry", "Ignore"]


def test_retry_stops_at_the_first_success(client, redis_server) -> None:
    doc = client.submit(pipeline("retry_ok", [stage("s", [
        flaky("a", 2, redis_server.url, strategies=[on("AllErrors", "Retry", **retry(5, ["0s"]))]),
    ])])).wait(60)
    node = doc["nodes"]["s.a"]
    assert node["status"] == "Success" and node["attempts"] == 2
    assert [a["status"] for a in node["attempt_log"]] == ["Failed", "Success"]


def test_retry_step_group_reruns_the_whole_group(client, redis_server) -> None:
    doc = client.submit(pipeline("retry_group", [stage("s", [
        group("g", [py("first"), flaky("second", 2, redis_server.url)],
              strategies=[on("AllErrors", "RetryStepGroup", retryCount=2, retryIntervals=["0s"])]),
    ])])).wait(60)
    assert doc["nodes"]["s.g"]["status"] == "Success"
    assert doc["nodes"]["s.g.first"]["attempts"] == 2
    assert doc["nodes"]["s.g.second"]["attempts"] == 2


# --- ManualIntervention ----------------------------------------------------------------------

def test_manual_intervention_timeout_applies_on_timeout(client) -> None:
    run = client.submit(pipeline("mi_timeout", [stage("s", [
        py("a", "fail", strategies=[on("AllErrors", "ManualIntervention", timeout="1s",
                                       onTimeout={"action": {"type": "Ignore"}})]),
        py("b"),
    ])]))
    wait_until(run, node_status("s.a", "InterventionWaiting"))
    doc = run.wait(60)
    assert doc["nodes"]["s.a"]["status"] == "IgnoreFailed"
    assert doc["nodes"]["s.b"]["status"] == "Success"


def manual(identifier: str, function: str = "fail", **kw: Any) -> dict:
    return py(identifier, function, strategies=[on("AllErrors", "ManualIntervention", timeout="1h",
                                                   onTimeout={"action": {"type": "MarkAsFailure"}})], **kw)


@pytest.mark.parametrize("action, step_status, run_status", [
    ("Ignore", "IgnoreFailed", "IgnoreFailed"),
    ("MarkAsSuccess", "Success", "Success"),
    ("MarkAsFailure", "Failed", "Failed"),
    ("Abort", "Aborted", "Aborted"),
    ("StageRollback", "Failed", "RolledBack"),
])
def test_operator_actions(client, action: str, step_status: str, run_status: str) -> None:
    run = client.submit(pipeline("mi_" + action.lower(), [
        stage("s", [manual("a"), py("b")], rollback=[py("undo")])]))
    wait_until(run, node_status("s.a", "InterventionWaiting"))
    run.intervene("s.a", action)
    doc = run.wait(60)
    assert doc["nodes"]["s.a"]["status"] == step_status
    assert doc["status"] == run_status
    if action == "MarkAsFailure":
        assert doc["nodes"]["s.a"]["error_type"] == "UserMarkedFailure"
    if action == "StageRollback":
        assert doc["nodes"]["s"]["status"] == "RolledBack"
        assert doc["nodes"]["s.rollback.undo"]["status"] == "Success"
        assert doc["nodes"]["s.b"]["status"] == "Skipped"
    if action in ("Ignore", "MarkAsSuccess"):
        assert doc["nodes"]["s.b"]["status"] == "Success"


def test_operator_retry_runs_another_attempt(client, redis_server) -> None:
    run = client.submit(pipeline("mi_retry", [stage("s", [
        flaky("a", 2, redis_server.url, strategies=[on("AllErrors", "ManualIntervention", timeout="1h",
                                                      onTimeout={"action": {"type": "MarkAsFailure"}})]),
    ])]))
    wait_until(run, node_status("s.a", "InterventionWaiting"))
    run.intervene("s.a", "Retry")
    doc = run.wait(60)
    assert doc["nodes"]["s.a"]["status"] == "Success" and doc["nodes"]["s.a"]["attempts"] == 2


def test_operator_actions_on_a_node_not_waiting_are_refused(client) -> None:
    run = client.submit(pipeline("mi_refused", [stage("s", [manual("a"), py("b")])]))
    wait_until(run, node_status("s.a", "InterventionWaiting"))
    before = client.store.all_nodes(run.id)
    with pytest.raises(OperatorError, match="not waiting"):
        run.intervene("s.b", "Ignore")
    with pytest.raises(OperatorError, match="no step"):
        run.intervene("s.nope", "Ignore")
    with pytest.raises(OperatorError, match="unknown action"):
        run.intervene("s.a", "Dance")
    with pytest.raises(OperatorError, match="not waiting for approval"):
        run.approve("s.a")
    assert client.store.all_nodes(run.id) == before
    run.intervene("s.a", "Ignore")
    run.wait(60)
    with pytest.raises(OperatorError, match="not waiting"):
        run.intervene("s.a", "Retry")


# --- rollback --------------------------------------------------------------------------------

def test_step_group_rollback_runs_the_group_rollback_and_moves_on(client) -> None:
    doc = client.submit(pipeline("group_rollback", [stage("s", [
        group("g", [py("x", "fail"), py("y")], rollback=[py("undo_g")],
              strategies=[on("AllErrors", "StepGroupRollback")]),
        py("after", when={"stageStatus": "All"}),
        py("after_success"),
    ], rollback=[py("undo_stage")])])).wait(60)
    nodes = doc["nodes"]
    assert nodes["s.g"]["status"] == "RolledBack"
    assert nodes["s.g.x"]["status"] == "Failed"
    assert nodes["s.g.y"]["status"] == "Skipped"
    assert nodes["s.g.rollback.undo_g"]["status"] == "Success"
    assert nodes["s.after"]["status"] == "Success"
    assert nodes["s.after_success"]["status"] == "Skipped"  # RolledBack does not count for Success
    assert nodes["s.rollback.undo_stage"]["status"] == "NotStarted"


def test_pipeline_rollback_rolls_back_stages_in_reverse_and_leaves_child_runs_alone(client, tmp_path: Path) -> None:
    marker = tmp_path / "child-rolled-back"
    write_yaml(tmp_path / "child.yaml", pipeline("child", [
        stage("c", [py("work")], rollback=[py("child_undo", "touch", args=[str(marker)])])]))
    write_yaml(tmp_path / "parent.yaml", pipeline("parent", [
        stage("s1", [py("a")], rollback=[py("r1")]),
        parallel(stage("s2", [py("b")], rollback=[py("r2", "sleep", args=[0.3])]),
                 stage("s3", [py("c")], rollback=[py("r3", "sleep", args=[0.3])])),
        child_stage("ch", "child"),
        stage("s4", [py("d", "fail", strategies=[on("AllErrors", "PipelineRollback")])], rollback=[py("r4")]),
        stage("s5", [py("e")]),
    ]))
    doc = client.submit(tmp_path / "parent.yaml").wait(60)
    nodes = doc["nodes"]
    assert doc["status"] == "RolledBack"
    for s in ("s1", "s2", "s3", "s4"):
        assert nodes[s]["status"] == "RolledBack", s
    assert nodes["s5"]["status"] == "NotStarted"
    assert nodes["ch"]["status"] == "Success"
    child = client.run(nodes["ch"]["child_run_id"]).document()
    assert child["status"] == "Success"
    assert child["nodes"]["c.rollback.child_undo"]["status"] == "NotStarted"
    assert not marker.exists()

    def window(node: str) -> tuple[float, float]:
        return ts(nodes[node]["started_at"]), ts(nodes[node]["ended_at"])

    r4, r2, r3, r1 = (window(f"{s}.rollback.r{n}") for s, n in (("s4", 4), ("s2", 2), ("s3", 3), ("s1", 1)))
    assert r4[1] <= min(r2[0], r3[0]), "the last stage rolls back first"
    assert r2[0] < r3[1] and r3[0] < r2[1], "a parallel block rolls back as one"
    assert max(r2[1], r3[1]) <= r1[0], "the first stage rolls back last"


def test_a_failing_rollback_step_leaves_the_stage_failed(client) -> None:
    doc = client.submit(pipeline("rollback_fails", [stage("s", [py("a", "fail")],
                                                          rollback=[py("r1", "fail"), py("r2")],
                                                          strategies=[on("AllErrors", "StageRollback")])])).wait(60)
    nodes = doc["nodes"]
    assert nodes["s.rollback.r1"]["status"] == "Failed"
    assert nodes["s.rollback.r2"]["status"] == "Skipped"
    assert nodes["s"]["status"] == "Failed"
    assert doc["status"] == "Failed"


def test_rollback_steps_inherit_no_stage_strategy(client) -> None:
    doc = client.submit(pipeline("rollback_no_inherit", [stage("s", [py("a", "fail")],
                                                               rollback=[py("r1", "fail")],
                                                               strategies=[on("Unknown", "StageRollback"),
                                                                           on("AllErrors", "Ignore")])])).wait(60)
    # the stage's Unknown -> StageRollback does not apply to r1: it simply fails
    assert doc["nodes"]["s.rollback.r1"]["status"] == "Failed"
    assert doc["nodes"]["s"]["status"] == "Failed"


# --- Abort -----------------------------------------------------------------------------------

def test_abort_stops_running_parallel_branches(client) -> None:
    doc = client.submit(pipeline("abort_parallel", [stage("s", [
        parallel(shell("long", "sleep 30"), py("bad", "sleep_then_fail", kwargs={"seconds": 1},
                                             strategies=[on("AllErrors", "Abort")])),
        py("never"),
    ]), stage("later", [py("x")])])).wait(60)
    nodes = doc["nodes"]
    assert doc["status"] == "Aborted"
    assert nodes["s.long"]["status"] == "Aborted"
    assert nodes["s.bad"]["status"] == "Failed" and nodes["s.bad"]["action"] == "Abort"
    assert nodes["s.never"]["status"] == "NotStarted" and nodes["later"]["status"] == "NotStarted"


def sleeping(seconds: str) -> list:
    return [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", seconds]]


def test_operator_abort_stops_a_running_shell_step(client) -> None:
    run = client.submit(pipeline("abort_op", [stage("s", [shell("long", "sleep 37.25"), py("next")])]))
    wait_until(run, node_status("s.long", "Running"))
    deadline = time.monotonic() + 30
    while not sleeping("37.25") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleeping("37.25"), "the step's process should be running"
    assert run.abort()
    doc = run.wait(30)
    assert doc["status"] == "Aborted" and doc["nodes"]["s.long"]["status"] == "Aborted"
    assert doc["nodes"]["s.next"]["status"] == "NotStarted"
    while sleeping("37.25") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sleeping("37.25"), "aborting the run kills the step's process (heartbeat reports it gone)"
    assert not run.abort(), "a finished run cannot be aborted again"


# --- error types -----------------------------------------------------------------------------

def test_timeout_follows_its_strategy(client) -> None:
    doc = client.submit(pipeline("timeout_strategy", [stage("s", [
        shell("slow", "sleep 30", timeout="1s", strategies=[on("Timeout", "Ignore")]), py("next"),
    ])])).wait(60)
    assert doc["nodes"]["s.slow"]["status"] == "IgnoreFailed"
    assert doc["nodes"]["s.slow"]["error_type"] == "Timeout"
    assert doc["nodes"]["s.next"]["status"] == "Success"


def test_delegate_provisioning_when_no_worker_consumes_the_queue(client) -> None:
    doc = client.submit(pipeline("provisioning", [stage("s", [
        py("nowhere", delegateSelectors=["no-such-delegate"]),
        py("handled", delegateSelectors=["no-such-delegate"], strategies=[on("DelegateProvisioning", "Ignore")]),
    ])])).wait(60)
    node = doc["nodes"]["s.nowhere"]
    assert node["status"] == "Failed" and node["error_type"] == "DelegateProvisioning"
    assert "no-such-delegate" in node["message"]


def test_provisioning_failure_follows_its_strategy(client) -> None:
    doc = client.submit(pipeline("provisioning_ignored", [stage("s", [
        py("nowhere", delegateSelectors=["no-such-delegate"], strategies=[on("DelegateProvisioning", "Ignore")]),
        py("next"),
    ])])).wait(60)
    assert doc["nodes"]["s.nowhere"]["status"] == "IgnoreFailed"
    assert doc["nodes"]["s.next"]["status"] == "Success"


def approval(identifier: str, timeout: str = "1h", **kw: Any) -> dict:
    return {"step": {"identifier": identifier, "name": identifier, "type": "HarnessApproval", "timeout": timeout,
                     "spec": {"approvalMessage": "ship <+pipeline.name>?",
                              "approvers": {"userGroups": ["ops"], "minimumCount": 1}}, **kw}}


def test_approval_rejected(client) -> None:
    run = client.submit(pipeline("approval_reject", [stage("s", [approval("gate"), py("ship")])]))
    wait_until(run, node_status("s.gate", "ApprovalWaiting"))
    run.reject("s.gate", by="alice")
    doc = run.wait(60)
    assert doc["nodes"]["s.gate"]["status"] == "ApprovalRejected"
    assert doc["nodes"]["s.gate"]["error_type"] == "ApprovalRejection"
    assert doc["nodes"]["s.ship"]["status"] == "Skipped"
    assert doc["status"] == "ApprovalRejected"


def test_approval_rejection_follows_its_strategy(client) -> None:
    run = client.submit(pipeline("approval_rollback", [stage("s", [
        approval("gate", failureStrategies=[on("ApprovalRejection", "StageRollback")])], rollback=[py("undo")])]))
    wait_until(run, node_status("s.gate", "ApprovalWaiting"))
    run.reject("s.gate")
    doc = run.wait(60)
    assert doc["nodes"]["s"]["status"] == "RolledBack"


def test_approval_approved_and_timed_out(client) -> None:
    run = client.submit(pipeline("approval_ok", [stage("s", [approval("gate"), py("ship")])]))
    wait_until(run, node_status("s.gate", "ApprovalWaiting"))
    assert client.store.output(run.id, "s.gate")["approvalMessage"] == "ship approval_ok?"
    run.approve("s.gate", by="bob")
    assert run.wait(60)["nodes"]["s.ship"]["status"] == "Success"
    doc = client.submit(pipeline("approval_late", [stage("s", [approval("gate", timeout="1s")])])).wait(60)
    assert doc["nodes"]["s.gate"]["status"] == "Expired" and doc["nodes"]["s.gate"]["error_type"] == "Timeout"


def test_proceed_with_default_values_on_input_timeout(client) -> None:
    doc = client.submit(pipeline("proceed", [stage("s", [
        py("ask", "fail", kwargs={"error_type": "InputTimeoutError"},
           strategies=[on("InputTimeoutError", "ProceedWithDefaultValues")]),
    ])])).wait(60)
    assert doc["nodes"]["s.ask"]["status"] == "Success"
    assert doc["nodes"]["s.ask"]["action"] == "ProceedWithDefaultValues"


# --- strategies as runtime input ---------------------------------------------------------------

@pytest.mark.parametrize("filled, expected", [(True, "IgnoreFailed"), (False, "Failed")])
def test_failure_strategies_as_runtime_input(client, tmp_path: Path, filled: bool, expected: str) -> None:
    source = pipeline("strategy_input", [stage("s", [py("a", "fail")])])
    source["pipeline"]["stages"][0]["stage"]["failureStrategies"] = "<+input>"
    inputs = None
    if filled:
        inputs = {"pipeline": {"identifier": "strategy_input", "stages": [{"stage": {
            "identifier": "s", "failureStrategies": [on("AllErrors", "Ignore")]}}]}}
    doc = client.submit(write_yaml(tmp_path / "p.yaml", source), inputs=inputs).wait(60)
    assert doc["nodes"]["s.a"]["status"] == expected


# --- Wait holds no worker slot ---------------------------------------------------------------

def test_wait_steps_hold_no_worker_slot(client) -> None:
    waits = [{"step": {"identifier": f"w{i}", "type": "Wait", "spec": {"duration": "1h"}}} for i in range(20)]
    waiting = client.submit(pipeline("waits", [stage("s", [parallel(*waits)])]))
    wait_until(waiting, lambda d: all(d["nodes"][f"s.w{i}"]["status"] == "Running" for i in range(20)))
    # 20 waits > the worker's 8 threads: if a wait held a slot, this run could not proceed
    assert client.submit(pipeline("meanwhile", [stage("s", [py("a"), py("b")])])).wait(60)["status"] == "Success"
    waiting.abort()
    assert waiting.wait(30)["status"] == "Aborted"
    short = client.submit(pipeline("short_wait", [stage("s", [
        {"step": {"identifier": "w", "type": "Wait", "spec": {"duration": "1s"}}}])])).wait(60)
    assert short["nodes"]["s.w"]["status"] == "Success"


# --- stage and pipeline timeouts ---------------------------------------------------------------

def test_stage_timeout_expires_the_stage_and_applies_its_timeout_strategy(client) -> None:
    doc = client.submit(pipeline("stage_timeout", [
        stage("slow", [shell("a", "sleep 30")], timeout="1s"),
        stage("slow_rolled_back", [shell("b", "sleep 30")], timeout="1s", rollback=[py("undo")],
              strategies=[on("Timeout", "StageRollback")]),
    ])).wait(60)
    nodes = doc["nodes"]
    assert nodes["slow"]["status"] == "Expired" and nodes["slow"]["error_type"] == "Timeout"
    assert nodes["slow.a"]["status"] == "Expired"
    assert nodes["slow_rolled_back"]["status"] == "Skipped"  # Expired does not count for Success
    doc = client.submit(pipeline("stage_timeout_rb", [
        stage("s", [shell("b", "sleep 30")], timeout="1s", rollback=[py("undo")],
              strategies=[on("Timeout", "StageRollback")]),
    ])).wait(60)
    assert doc["nodes"]["s"]["status"] == "RolledBack"
    assert doc["nodes"]["s.rollback.undo"]["status"] == "Success"


def test_pipeline_timeout_expires_the_run(client) -> None:
    doc = client.submit(pipeline("run_timeout", [stage("s", [shell("a", "sleep 30"), py("b")])],
                                 timeout="1s")).wait(60)
    assert doc["status"] == "Expired"
    assert doc["nodes"]["s.a"]["status"] == "Expired"
    assert doc["nodes"]["s.b"]["status"] == "NotStarted"


# --- regressions -------------------------------------------------------------------------------

def test_retry_budget_restarts_when_a_group_retry_reruns_the_step(client, redis_server) -> None:
    """Timeout -> Retry(2) inside a RetryStepGroup: each run of the group gets both retries."""
    counter = f"calls:{uuid.uuid4().hex}"
    doc = client.submit(pipeline("budget", [stage("s", [
        group("g", [
            py("a", "succeed_on_calls", kwargs={"counter_key": counter, "calls": [3, 6], "error_type": "Timeout",
                                                "redis_url": redis_server.url},
               strategies=[on("Timeout", "Retry", **retry(2, ["0s"]))]),
            flaky("b", 2, redis_server.url),
        ], strategies=[on("AllErrors", "RetryStepGroup", retryCount=1, retryIntervals=["0s"])]),
    ])])).wait(60)
    assert doc["nodes"]["s.g"]["status"] == "Success", doc["nodes"]
    assert doc["nodes"]["s.g.a"]["attempts"] == 6  # (1 + 2 retries) in each of the group's 2 runs
    assert doc["nodes"]["s.g.b"]["attempts"] == 2


def test_stage_timeout_does_not_interrupt_the_stage_rollback(client) -> None:
    doc = client.submit(pipeline("timeout_then_rollback", [
        stage("s", [shell("slow", "sleep 30")], timeout="1s", rollback=[py("undo", "sleep", args=[2])],
              strategies=[on("Timeout", "StageRollback")]),
    ])).wait(60)
    undo = doc["nodes"]["s.rollback.undo"]
    assert undo["status"] == "Success" and undo["attempts"] == 1
    assert doc["nodes"]["s"]["status"] == "RolledBack"


def test_pipeline_rollback_waits_for_a_running_child_run(client, tmp_path: Path) -> None:
    write_yaml(tmp_path / "child.yaml", pipeline("slow_child", [
        stage("c", [py("work", "sleep", args=[2])], rollback=[py("child_undo")])]))
    write_yaml(tmp_path / "parent.yaml", pipeline("waiting_parent", [
        parallel(child_stage("ch", "slow_child"),
                 stage("s", [py("bad", "fail", strategies=[on("AllErrors", "PipelineRollback")])],
                       rollback=[py("undo")])),
    ]))
    doc = client.submit(tmp_path / "parent.yaml").wait(60)
    assert doc["status"] == "RolledBack"
    assert doc["nodes"]["s"]["status"] == "RolledBack"
    assert doc["nodes"]["ch"]["status"] == "Success"  # not stopped, not rolled back: its own result
    child = client.run(doc["nodes"]["ch"]["child_run_id"]).document()
    assert child["status"] == "Success" and child["nodes"]["c.rollback.child_undo"]["status"] == "NotStarted"
    assert ts(doc["ended_at"]) >= ts(child["ended_at"])


def test_a_failed_steps_outputs_stay_readable_after_ignore(client) -> None:
    doc = client.submit(pipeline("failed_outputs", [stage("s", [
        shell("probe", "echo half-done; exit 3", strategies=[on("AllErrors", "Ignore")]),
        py("read", "echo", kwargs={"code": "<+execution.steps.probe.output.exitCode>"}),
    ])])).wait(60)
    assert doc["nodes"]["s.probe"]["status"] == "IgnoreFailed"
    assert client.store.output(doc["run_id"], "s.read")["result"] == {"code": 3}


def test_group_timeout_with_stage_rollback_rolls_back_the_stage(client) -> None:
    source = pipeline("group_timeout", [stage("s", [
        group("g", [shell("slow", "sleep 30")], rollback=[py("undo_group")]),
        py("after", when={"stageStatus": "All"}),
    ], rollback=[py("undo_stage")], strategies=[on("Timeout", "StageRollback")])])
    source["pipeline"]["stages"][0]["stage"]["spec"]["execution"]["steps"][0]["stepGroup"]["timeout"] = "1s"
    doc = client.submit(source).wait(60)
    assert doc["nodes"]["s"]["status"] == "RolledBack"
    assert doc["nodes"]["s.rollback.undo_stage"]["status"] == "Success"
    assert doc["nodes"]["s.after"]["status"] == "Skipped"
