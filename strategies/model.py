"""The failure-strategy YAML model (``failureStrategies: [{onFailure: {errors, action}}]``).

Only the shape lives here; the rules that span fields or levels (onRetryFailure may not be
Retry, one level may not map a type to two actions, ...) are in :mod:`strategies.rules`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field

from orchestrator.model.common import Duration, HarnessModel


class ActionRef(HarnessModel):
    """``{action: {...}}`` wrapper used by onRetryFailure and onTimeout."""

    action: "Action"


class RetrySpec(HarnessModel):
    retry_count: int = Field(ge=0)
    retry_intervals: list[Duration] = Field(min_length=1)
    on_retry_failure: ActionRef


class ManualInterventionSpec(HarnessModel):
    timeout: Duration
    on_timeout: ActionRef


class _NoSpecAction(HarnessModel):
    spec: dict[str, Any] | None = None


class IgnoreAction(_NoSpecAction):
    type: Literal["Ignore"]


class MarkAsSuccessAction(_NoSpecAction):
    type: Literal["MarkAsSuccess"]


class MarkAsFailureAction(_NoSpecAction):
    type: Literal["MarkAsFailure"]


class AbortAction(_NoSpecAction):
    type: Literal["Abort"]


class StageRollbackAction(_NoSpecAction):
    type: Literal["StageRollback"]


class StepGroupRollbackAction(_NoSpecAction):
    type: Literal["StepGroupRollback"]


class PipelineRollbackAction(_NoSpecAction):
    type: Literal["PipelineRollback"]


class ProceedWithDefaultValuesAction(_NoSpecAction):
    type: Literal["ProceedWithDefaultValues"]


class RetryAction(HarnessModel):
    type: Literal["Retry"]
    spec: RetrySpec


class RetryStepGroupSpec(HarnessModel):
    retry_count: int = Field(ge=0)
    retry_intervals: list[Duration] = Field(min_length=1)
    on_retry_failure: ActionRef | None = None
    """Harness files often omit it; exhausted group retries then leave the group Failed."""


class RetryStepGroupAction(HarnessModel):
    type: Literal["RetryStepGroup"]
    spec: RetryStepGroupSpec


class ManualInterventionAction(HarnessModel):
    type: Literal["ManualIntervention"]
    spec: ManualInterventionSpec


Action = Annotated[
    Union[
        IgnoreAction,
        RetryAction,
        RetryStepGroupAction,
        MarkAsSuccessAction,
        MarkAsFailureAction,
        AbortAction,
        StageRollbackAction,
        StepGroupRollbackAction,
        PipelineRollbackAction,
        ManualInterventionAction,
        ProceedWithDefaultValuesAction,
    ],
    Field(discriminator="type"),
]

ACTION_TYPES: tuple[str, ...] = (
    "Ignore",
    "Retry",
    "RetryStepGroup",
    "MarkAsSuccess",
    "MarkAsFailure",
    "Abort",
    "StageRollback",
    "StepGroupRollback",
    "PipelineRollback",
    "ManualIntervention",
    "ProceedWithDefaultValues",
)
ROLLBACK_ACTIONS: frozenset[str] = frozenset({"StageRollback", "StepGroupRollback", "PipelineRollback"})


class OnFailure(HarnessModel):
    errors: list[str] = Field(min_length=1)
    action: Action


class FailureStrategy(HarnessModel):
    on_failure: OnFailure


ActionRef.model_rebuild()
