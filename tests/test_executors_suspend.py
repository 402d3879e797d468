"""Wait and HarnessApproval: they return Suspended at once and hold no worker slot."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import ValidationError

from strategies.errors import StepError
from workers.executors.approval import ApprovalExecutor, ApprovalSpec
from workers.executors.base import StepContext, Suspended
from workers.executors.wait import WaitExecutor, WaitSpec

APPROVAL_SPEC = {  # as in harness-samples/1.yaml
    "approvalMessage": "Please review and approve progression",
    "includePipelineExecutionHistory": True,
    "isAutoRejectEnabled": False,
    "approvers": {"userGroups": ["account._account_all_users"], "minimumCount": 1,
                  "disallowPipelineExecutor": False},
    "approverInputs": [],
}


def make_ctx(step_type: str, spec: dict[str, Any], timeout: float | None = 60,
             values: dict[str, Any] | None = None) -> StepContext:
    values = values or {}

    def render(obj: Any) -> Any:  # stand-in renderer: replaces <+name> references in strings
        if isinstance(obj, str):
            for key, value in values.items():
                obj = obj.replace(f"<+{key}>", str(value))
        return obj

    return StepContext(run_id="run1", node_key="stage.s", attempt=1, step_type=step_type, spec=spec,
                       timeout=timeout, render=render, resolve=lambda body: values[body])


@pytest.mark.parametrize("duration, seconds", [("10s", 10), ("1m", 60), ("1h 30m", 5400), ("500ms", 0.5)])
def test_wait_suspends_immediately(duration: str, seconds: float) -> None:
    start = time.monotonic()
    outcome = WaitExecutor().execute(make_ctx("Wait", {"duration": duration}))
    assert time.monotonic() - start < 0.5
    assert isinstance(outcome, Suspended)
    assert (outcome.status, outcome.wake_after, outcome.on_wake) == ("Running", seconds, "succeed")


def test_wait_duration_from_an_expression() -> None:
    outcome = WaitExecutor().execute(make_ctx("Wait", {"duration": "<+pipeline.variables.pause>"},
                                              values={"pipeline.variables.pause": "2m"}))
    assert outcome.wake_after == 120


def test_wait_spec_validation() -> None:
    with pytest.raises(ValidationError, match="invalid duration"):
        WaitSpec.model_validate({"duration": "soon"})
    with pytest.raises(ValidationError, match="give a unit"):
        WaitSpec.model_validate({"duration": 10})
    WaitSpec.model_validate({"duration": "<+input>"})
    with pytest.raises(StepError, match="invalid duration"):
        WaitExecutor().execute(make_ctx("Wait", {"duration": "<+x>"}, values={"x": "forever"}))


def test_approval_suspends_until_the_step_timeout() -> None:
    outcome = ApprovalExecutor().execute(make_ctx("HarnessApproval", APPROVAL_SPEC, timeout=86400))
    assert isinstance(outcome, Suspended)
    assert (outcome.status, outcome.wake_after, outcome.on_wake) == ("ApprovalWaiting", 86400, "expire")
    assert outcome.output == {"approvalMessage": "Please review and approve progression"}
    assert ApprovalSpec.model_validate(APPROVAL_SPEC).model_dump()["approvers"]["minimumCount"] == 1


def test_approval_message_is_rendered_and_no_timeout_means_no_timer() -> None:
    spec = {**APPROVAL_SPEC, "approvalMessage": "Deploy <+pipeline.variables.tag>?"}
    outcome = ApprovalExecutor().execute(make_ctx("HarnessApproval", spec, timeout=None,
                                                  values={"pipeline.variables.tag": "v2"}))
    assert outcome.output["approvalMessage"] == "Deploy v2?"
    assert outcome.wake_after is None
