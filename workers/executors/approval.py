"""HarnessApproval: wait for an approve/reject from the client or CLI.

Spec: kept as Harness writes it (``approvalMessage``, ``approvers: {userGroups, minimumCount,
disallowPipelineExecutor}``, ``includePipelineExecutionHistory``, ``isAutoRejectEnabled``,
``approverInputs``, ...). Only ``approvalMessage`` is acted on: it is rendered (``<+...>``) and
shown to the operator. Anyone who can reach the run (``orchestrator approve|reject RUN NODE``,
``run.approve(node)``) decides; user groups are not checked.

The executor returns at once with ``Suspended(status="ApprovalWaiting", wake_after=<step timeout>,
on_wake="expire", output={"approvalMessage": ...})``: no worker slot is held while waiting. An
approval ends the step Success, a rejection ApprovalRejected (error type ApprovalRejection), and
the timer at the step timeout Expired (error type Timeout); those are recorded by the coordinator.
"""

from __future__ import annotations

from typing import Any, ClassVar

from orchestrator.model.common import HarnessModel
from workers.executors.base import StepContext, Suspended
from workers.executors.shell import Text


class ApprovalSpec(HarnessModel):
    approval_message: Text | None = None
    approvers: dict[str, Any] | None = None
    include_pipeline_execution_history: bool | str | None = None
    is_auto_reject_enabled: bool | str | None = None
    approver_inputs: list[Any] | str | None = None


class ApprovalExecutor:
    """Runs ``HarnessApproval`` steps by suspending them until a decision or the timeout."""

    spec_model: ClassVar[type[HarnessModel]] = ApprovalSpec

    def execute(self, ctx: StepContext) -> Suspended:
        spec = ApprovalSpec.model_validate(ctx.spec)
        message = spec.approval_message or ""
        if "<+" in message:
            message = str(ctx.render(message))
        return Suspended(
            status="ApprovalWaiting",
            wake_after=ctx.timeout,
            on_wake="expire",
            output={"approvalMessage": message},
        )
