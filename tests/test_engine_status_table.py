"""SPEC §7: after each status, which of the Success / Failure / All gates open — for steps
(stageStatus) and for stages (pipelineStatus). Every run is real: Redis + a Celery worker."""

from __future__ import annotations

import pytest

from tests.pipeline_builders import group, on, pipeline, py, stage

COUNTS_FOR_SUCCESS = {"Success", "Skipped", "IgnoreFailed"}
COUNTS_FOR_FAILURE = {"IgnoreFailed", "Failed", "Expired", "ApprovalRejected"}
PRIOR_STATUSES = ["Success", "Skipped", "IgnoreFailed", "Failed", "Expired", "ApprovalRejected", "RolledBack"]
GATES = ["Success", "Failure", "All"]


def should_run(prior: str, gate: str) -> bool:
    return gate == "All" or (prior in COUNTS_FOR_SUCCESS if gate == "Success" else prior in COUNTS_FOR_FAILURE)


def first_step_ending(status: str) -> dict:
    """A step (or, for RolledBack, a step group) that finishes with ``status``."""
    if status == "Success":
        return py("first")
    if status == "Skipped":
        return py("first", when={"stageStatus": "Failure"})
    if status == "IgnoreFailed":
        return py("first", "fail", strategies=[on("AllErrors", "Ignore")])
    if status == "Failed":
        return py("first", "fail")
    if status == "Expired":
        return py("first", "fail", kwargs={"error_type": "Timeout"})
    if status == "ApprovalRejected":
        return py("first", "fail", kwargs={"error_type": "ApprovalRejection"})
    if status == "RolledBack":
        return group("first", [py("inner", "fail")], rollback=[py("undo")],
                     strategies=[on("AllErrors", "StepGroupRollback")])
    raise AssertionError(status)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("prior", PRIOR_STATUSES)
def test_step_gate_after_each_status(client, prior: str, gate: str) -> None:
    doc = client.submit(pipeline("steps_table", [
        stage("s", [first_step_ending(prior), py("second", when={"stageStatus": gate})]),
    ])).wait(timeout=60)
    assert doc["nodes"]["s.first"]["status"] == prior
    expected = "Success" if should_run(prior, gate) else "Skipped"
    assert doc["nodes"]["s.second"]["status"] == expected, doc["nodes"]


def first_stage_ending(status: str) -> dict:
    if status == "Skipped":
        return stage("one", [py("a")], when={"pipelineStatus": "Failure"})
    if status == "RolledBack":
        return stage("one", [py("a", "fail")], rollback=[py("undo")], strategies=[on("AllErrors", "StageRollback")])
    step = first_step_ending(status)
    step["step"]["identifier"] = "a"
    return stage("one", [step])


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("prior", PRIOR_STATUSES)
def test_stage_gate_after_each_status(client, prior: str, gate: str) -> None:
    doc = client.submit(pipeline("stages_table", [
        first_stage_ending(prior),
        stage("two", [py("b")], when={"pipelineStatus": gate}),
    ])).wait(timeout=60)
    assert doc["nodes"]["one"]["status"] == prior
    expected = "Success" if should_run(prior, gate) else "Skipped"
    assert doc["nodes"]["two"]["status"] == expected, doc["nodes"]


@pytest.mark.parametrize("level", ["step", "stage"])
def test_aborted_ends_the_run_and_nothing_else_starts(client, level: str) -> None:
    aborting = py("a", "fail", strategies=[on("AllErrors", "Abort")])
    if level == "step":
        stages = [stage("one", [aborting, py("b", when={"stageStatus": "All"})])]
        never = "one.b"
    else:
        stages = [stage("one", [aborting]), stage("two", [py("b")], when={"pipelineStatus": "All"})]
        never = "two"
    doc = client.submit(pipeline("aborting", stages)).wait(timeout=60)
    assert doc["status"] == "Aborted"
    assert doc["nodes"][never]["status"] == "NotStarted"


def test_run_status_is_the_most_severe_stage(client) -> None:
    doc = client.submit(pipeline("severity", [
        stage("ignored", [py("a", "fail", strategies=[on("AllErrors", "Ignore")])]),
        stage("failed", [py("b", "fail")], when={"pipelineStatus": "All"}),
        stage("ok", [py("c")], when={"pipelineStatus": "All"}),
    ])).wait(timeout=60)
    assert [doc["nodes"][s]["status"] for s in ("ignored", "failed", "ok")] == ["IgnoreFailed", "Failed", "Success"]
    assert doc["status"] == "Failed"
