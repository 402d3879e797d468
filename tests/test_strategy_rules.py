"""strategies.rules on single levels, and how compile_plan applies levels (rollback steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.loading import load_pipeline
from strategies.model import FailureStrategy
from strategies.rules import check_level
from tests.design_helpers import one_step_pipeline, write


def entry(errors: list[str], action: dict[str, Any]) -> FailureStrategy:
    return FailureStrategy.model_validate({"onFailure": {"errors": errors, "action": action}})


def retry(then: dict[str, Any], intervals: list[str] | None = None) -> dict[str, Any]:
    return {"type": "Retry", "spec": {"retryCount": 2, "retryIntervals": intervals or ["1s"],
                                      "onRetryFailure": {"action": then}}}


def intervene(then: dict[str, Any], timeout: str = "1h") -> dict[str, Any]:
    return {"type": "ManualIntervention", "spec": {"timeout": timeout, "onTimeout": {"action": then}}}


def problems(*entries: FailureStrategy, in_rollback: bool = False) -> list[tuple[tuple, str]]:
    return [(p.path, p.code) for p in check_level(list(entries), in_rollback=in_rollback)]


def test_valid_levels_have_no_problems() -> None:
    assert problems(
        entry(["Timeout", "Connectivity"], retry({"type": "StageRollback"})),
        entry(["AllErrors"], intervene({"type": "MarkAsFailure"})),
        entry(["InputTimeoutError"], {"type": "ProceedWithDefaultValues"}),
        entry(["Verification"], retry(intervene({"type": "Abort"}))),
    ) == []


def test_unknown_error_type() -> None:
    assert problems(entry(["Timeout", "Conectivity"], {"type": "Abort"})) == [
        ((0, "onFailure", "errors", 1), "unknown_error_type")]
    assert "did you mean Connectivity?" in check_level([entry(["Conectivity"], {"type": "Abort"})])[0].message


def test_error_type_names_are_case_sensitive() -> None:
    assert problems(entry(["timeout"], {"type": "Abort"})) == [((0, "onFailure", "errors", 0), "unknown_error_type")]


def test_all_errors_mixed_in_one_entry() -> None:
    assert problems(entry(["AllErrors", "Timeout"], {"type": "Abort"})) == [((0, "onFailure", "errors"), "invalid_strategy")]


def test_conflicts_only_between_different_actions() -> None:
    assert problems(entry(["Timeout"], {"type": "Abort"}), entry(["Timeout"], {"type": "Abort"})) == []
    assert problems(entry(["Timeout"], retry({"type": "Abort"})), entry(["Timeout"], retry({"type": "Ignore"}))) == [
        ((1, "onFailure", "errors", 0), "conflicting_strategy")]


def test_invalid_entries_are_skipped_but_keep_their_index() -> None:
    assert check_level([None, entry(["Nope"], {"type": "Abort"})])[0].path == (1, "onFailure", "errors", 0)


@pytest.mark.parametrize("follow_up", [retry({"type": "Abort"}),
                                       {"type": "RetryStepGroup", "spec": {"retryCount": 1, "retryIntervals": ["1s"]}}])
def test_on_retry_failure_may_not_retry(follow_up: dict[str, Any]) -> None:
    assert problems(entry(["AllErrors"], retry(follow_up))) == [
        ((0, "onFailure", "action", "spec", "onRetryFailure", "action", "type"), "invalid_strategy")]


@pytest.mark.parametrize("follow_up", [intervene({"type": "Abort"}), retry({"type": "Abort"})])
def test_on_timeout_may_not_intervene_or_retry(follow_up: dict[str, Any]) -> None:
    assert problems(entry(["AllErrors"], intervene(follow_up))) == [
        ((0, "onFailure", "action", "spec", "onTimeout", "action", "type"), "invalid_strategy")]


def test_rules_apply_at_any_depth() -> None:
    nested = retry(intervene(intervene({"type": "Abort"})))
    assert problems(entry(["AllErrors"], nested)) == [
        ((0, "onFailure", "action", "spec", "onRetryFailure", "action", "spec", "onTimeout", "action", "type"),
         "invalid_strategy")]


@pytest.mark.parametrize("action", ["StageRollback", "StepGroupRollback", "PipelineRollback"])
def test_rollback_actions_inside_rollback_steps(action: str) -> None:
    level = [entry(["AllErrors"], {"type": action}), entry(["Timeout"], retry(intervene({"type": action})))]
    assert problems(*level) == []
    assert problems(*level, in_rollback=True) == [
        ((0, "onFailure", "action", "type"), "invalid_strategy"),
        ((1, "onFailure", "action", "spec", "onRetryFailure", "action", "spec", "onTimeout", "action", "type"),
         "invalid_strategy"),
    ]


def test_proceed_with_default_values_only_for_input_timeouts() -> None:
    assert problems(entry(["InputTimeoutError"], {"type": "ProceedWithDefaultValues"})) == []
    assert problems(entry(["AllErrors"], {"type": "ProceedWithDefaultValues"})) == [
        ((0, "onFailure", "action", "type"), "invalid_strategy")]
    assert problems(entry(["InputTimeoutError", "Timeout"], {"type": "ProceedWithDefaultValues"})) == [
        ((0, "onFailure", "action", "type"), "invalid_strategy")]


def test_runtime_input_durations_are_not_allowed_in_actions() -> None:
    assert problems(entry(["AllErrors"], retry({"type": "Abort"}, ["1s", "<+input>"]))) == [
        ((0, "onFailure", "action", "spec", "retryIntervals", 1), "invalid_strategy")]
    assert problems(entry(["AllErrors"], intervene({"type": "Abort"}, "<+input>"))) == [
        ((0, "onFailure", "action", "spec", "timeout"), "invalid_strategy")]


def test_rollback_steps_inherit_no_stage_or_group_strategy(tmp_path: Path) -> None:
    stage_strategy = "failureStrategies:\n  - onFailure:\n      errors: [AllErrors]\n      action:\n        type: Ignore"
    rollback = """\
    - step:
        identifier: undo
        type: ShellScript
        spec: {shell: Bash, source: {type: Inline, spec: {script: echo undo}}}
    - step:
        identifier: undo_retry
        type: ShellScript
        spec: {shell: Bash, source: {type: Inline, spec: {script: echo undo}}}
        failureStrategies:
          - onFailure:
              errors: [Timeout]
              action: {type: MarkAsSuccess}
    """
    plan = load_pipeline(write(tmp_path, "p.yaml", one_step_pipeline(stage_extra=stage_strategy, rollback=rollback))).plan
    assert plan.nodes["build.compile"].strategies["Unknown"] == {"type": "Ignore"}
    assert plan.nodes["build.rollback.undo"].strategies == {}
    assert plan.nodes["build.rollback.undo_retry"].strategies == {"Timeout": {"type": "MarkAsSuccess"}}
    assert plan.nodes["build.rollback.undo"].in_rollback
