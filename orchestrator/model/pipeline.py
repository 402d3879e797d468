"""Pydantic model of a Harness-style pipeline (v0 YAML subset, same key spelling).

Every object keeps unknown keys (``extra="allow"``) so that real Harness files, which carry
services, environments, tags and much more, load unchanged. Fields the product acts on are typed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Discriminator, Field, Tag, field_validator

from orchestrator.model.common import Duration, ExpressionText, HarnessModel, Identifier, is_runtime_input
from strategies.model import FailureStrategy

GateStatus = Literal["Success", "Failure", "All"]
StageType = Literal["Custom", "Deployment", "CI", "Approval", "Pipeline"]
RuntimeInputText = Annotated[str, Field(pattern=r"^<\+input>")]

FailureStrategies = Optional[Annotated[
    Union[Annotated[list[FailureStrategy], Tag("list")], Annotated[RuntimeInputText, Tag("input")]],
    Discriminator(lambda v: "input" if isinstance(v, str) else "list"),
]]
"""A list of strategies, or ``<+input>`` to be filled from the run's inputs."""


class Variable(HarnessModel):
    name: Identifier
    type: Literal["String", "Number", "Secret"] = "String"
    value: Any = None
    description: str | None = None
    required: bool | None = None
    default: Any = None


class StepWhen(HarnessModel):
    stage_status: GateStatus = "Success"
    condition: ExpressionText | None = None


class StageWhen(HarnessModel):
    pipeline_status: GateStatus = "Success"
    condition: ExpressionText | None = None


class Step(HarnessModel):
    identifier: Identifier
    name: str | None = None
    type: str | None = None
    """None only for a step that references a template (``template: {templateRef: ...}``)."""
    timeout: Duration | None = None
    spec: dict[str, Any] | None = None
    failure_strategies: FailureStrategies = None
    when: StepWhen | None = None
    delegate_selectors: list[str] | RuntimeInputText | None = None
    template: dict[str, Any] | None = None


class StepGroup(HarnessModel):
    identifier: Identifier
    name: str | None = None
    steps: list["ExecutionElement"] = Field(min_length=1)
    rollback_steps: list["ExecutionElement"] | None = None
    failure_strategies: FailureStrategies = None
    when: StepWhen | None = None
    timeout: Duration | None = None
    delegate_selectors: list[str] | RuntimeInputText | None = None


class StepElement(HarnessModel):
    step: Step


class StepGroupElement(HarnessModel):
    step_group: StepGroup


class ParallelStepsElement(HarnessModel):
    parallel: list[Annotated[Union[
        Annotated[StepElement, Tag("step")],
        Annotated[StepGroupElement, Tag("stepGroup")],
    ], Discriminator(lambda v: _wrapper_tag(v, ("step", "stepGroup")))]] = Field(min_length=1)


def _wrapper_tag(value: Any, allowed: tuple[str, ...]) -> str | None:
    """Which wrapper key (``step``, ``stepGroup``, ``parallel``, ``stage``) a list item uses."""
    if isinstance(value, dict):
        keys = [k for k in allowed if k in value]
        return keys[0] if len(keys) == 1 else None
    for key in allowed:
        attr = {"stepGroup": "step_group"}.get(key, key)
        if getattr(value, attr, None) is not None:
            return key
    return None


ExecutionElement = Annotated[
    Union[
        Annotated[StepElement, Tag("step")],
        Annotated[StepGroupElement, Tag("stepGroup")],
        Annotated[ParallelStepsElement, Tag("parallel")],
    ],
    Discriminator(
        lambda v: _wrapper_tag(v, ("step", "stepGroup", "parallel")),
        custom_error_type="invalid_element",
        custom_error_message="each item must have exactly one of the keys step, stepGroup or parallel",
    ),
]


class Execution(HarnessModel):
    steps: list[ExecutionElement] = Field(min_length=1)
    rollback_steps: list[ExecutionElement] | None = None


class StageSpec(HarnessModel):
    execution: Execution | None = None
    # type: Pipeline (a chained child pipeline)
    pipeline: str | None = None
    inputs: dict[str, Any] | None = None
    variables: list[Variable] | None = None
    delegate_selectors: list[str] | RuntimeInputText | None = None


class Stage(HarnessModel):
    identifier: Identifier
    name: str | None = None
    type: StageType
    variables: list[Variable] | None = None
    when: StageWhen | None = None
    failure_strategies: FailureStrategies = None
    timeout: Duration | None = None
    spec: StageSpec
    delegate_selectors: list[str] | RuntimeInputText | None = None

    @property
    def all_variables(self) -> list[Variable]:
        """Stage variables from ``stage.variables`` and ``stage.spec.variables`` (the former wins)."""
        named = {v.name: v for v in (self.spec.variables or [])}
        named.update({v.name: v for v in (self.variables or [])})
        return list(named.values())


class StageElement(HarnessModel):
    stage: Stage


class ParallelStagesElement(HarnessModel):
    parallel: list[StageElement] = Field(min_length=1)


StageListElement = Annotated[
    Union[
        Annotated[StageElement, Tag("stage")],
        Annotated[ParallelStagesElement, Tag("parallel")],
    ],
    Discriminator(
        lambda v: _wrapper_tag(v, ("stage", "parallel")),
        custom_error_type="invalid_element",
        custom_error_message="each item must have exactly one of the keys stage or parallel",
    ),
]


class Pipeline(HarnessModel):
    identifier: Identifier
    name: str | None = None
    variables: list[Variable] | None = None
    stages: list[StageListElement] = Field(min_length=1)
    timeout: Duration | None = None
    delegate_selectors: list[str] | RuntimeInputText | None = None

    @field_validator("variables", mode="before")
    @classmethod
    def _variables_runtime_input(cls, value: Any) -> Any:
        return None if is_runtime_input(value) else value


class Template(HarnessModel):
    """A Harness template file (``template:`` root). Stage and Pipeline templates load."""

    identifier: Identifier
    name: str | None = None
    type: str
    spec: dict[str, Any]
    version_label: str | None = None


class PipelineFile(HarnessModel):
    """The document root: ``pipeline:`` or ``template:``."""

    pipeline: Pipeline | None = None
    template: Template | None = None


StepGroup.model_rebuild()
Execution.model_rebuild()
