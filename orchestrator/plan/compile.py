"""Model -> Plan: flatten stages, groups and steps into keyed nodes and resolve strategies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.model import (
    ParallelStagesElement,
    ParallelStepsElement,
    Pipeline,
    Stage,
    StepElement,
    StepGroup,
    StepGroupElement,
    is_runtime_input,
    parse_duration,
)
from orchestrator.model.pipeline import Step, Variable
from orchestrator.plan.model import ROOT, Plan, PlanNode
from strategies.model import FailureStrategy
from strategies.resolve import expand_level, resolve

Levels = list[Sequence[FailureStrategy] | None]


def _strategies(value: Any) -> Sequence[FailureStrategy] | None:
    """An unfilled ``<+input>`` means "no strategy at this level"."""
    return None if value is None or isinstance(value, str) else value


def _seconds(value: str | None) -> float | None:
    return None if value is None or is_runtime_input(value) else parse_duration(value)


def _selectors(*candidates: Any) -> list[str] | None:
    for value in candidates:
        if isinstance(value, list) and value:
            return [str(v) for v in value]
    return None


def _variables(variables: list[Variable] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var in variables or []:
        value = var.value
        if is_runtime_input(value):
            value = _input_default(value)
        out[var.name] = value
    return out


def _input_default(text: str) -> Any:
    """``<+input>.default(x)`` -> ``x``; a bare unfilled ``<+input>`` -> None."""
    marker = ".default("
    start = text.find(marker)
    if start < 0:
        return None
    depth, i = 1, start + len(marker)
    begin = i
    while i < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    value = text[begin : i - 1].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


class _Compiler:
    def __init__(self, pipeline: Pipeline, lines: dict[str, int] | None = None) -> None:
        self.pipeline = pipeline
        self.nodes: dict[str, PlanNode] = {}
        self.lines = lines or {}

    def compile(self) -> dict[str, PlanNode]:
        slots: list[list[str]] = []
        for element in self.pipeline.stages:
            if isinstance(element, ParallelStagesElement):
                slots.append([self._stage(e.stage) for e in element.parallel])
            else:
                slots.append([self._stage(element.stage)])
        self.nodes[ROOT] = PlanNode(
            key=ROOT,
            kind="pipeline",
            identifier=self.pipeline.identifier,
            name=self.pipeline.name or self.pipeline.identifier,
            slots=slots,
            timeout=_seconds(self.pipeline.timeout),
        )
        return self.nodes

    def _line(self, key: str) -> int | None:
        return self.lines.get(key)

    def _stage(self, stage: Stage) -> str:
        key = stage.identifier
        when = stage.when
        common = dict(
            key=key,
            kind="stage",
            identifier=stage.identifier,
            name=stage.name or stage.identifier,
            parent=ROOT,
            stage=key,
            gate=when.pipeline_status if when else "Success",
            condition=when.condition if when else None,
            strategies={k.value: v for k, v in expand_level(_strategies(stage.failure_strategies)).items()},
            timeout=_seconds(stage.timeout),
            stage_type=stage.type,
            variables=_variables(stage.all_variables),
            line=self._line(key),
        )
        if stage.type == "Pipeline":
            self.nodes[key] = PlanNode(
                **common, child_pipeline=stage.spec.pipeline, child_inputs=stage.spec.inputs or {}
            )
            return key
        execution = stage.spec.execution
        assert execution is not None, "validated: non-Pipeline stages have spec.execution"
        queue = _selectors(stage.delegate_selectors, stage.spec.delegate_selectors, self.pipeline.delegate_selectors)
        levels: Levels = [_strategies(stage.failure_strategies)]
        slots = self._elements(execution.steps, key, key, levels, queue, in_rollback=False)
        rollback = self._rollback(execution.rollback_steps, key, key, queue)
        self.nodes[key] = PlanNode(**common, slots=slots, rollback=rollback)
        return key

    def _rollback(self, elements: list | None, owner: str, stage: str, queue: list[str] | None) -> str | None:
        if not elements:
            return None
        key = f"{owner}.rollback"
        slots = self._elements(elements, key, stage, [], queue, in_rollback=True)
        self.nodes[key] = PlanNode(
            key=key, kind="rollback", identifier="rollback", name="rollback", parent=owner, stage=stage,
            slots=slots, gate="All", in_rollback=True,
        )
        return key

    def _elements(
        self, elements: list, parent: str, stage: str, levels: Levels, queue: list[str] | None, in_rollback: bool
    ) -> list[list[str]]:
        slots: list[list[str]] = []
        for element in elements:
            if isinstance(element, ParallelStepsElement):
                slots.append([self._element(e, parent, stage, levels, queue, in_rollback) for e in element.parallel])
            else:
                slots.append([self._element(element, parent, stage, levels, queue, in_rollback)])
        return slots

    def _element(self, element: Any, parent: str, stage: str, levels: Levels, queue: list[str] | None,
                 in_rollback: bool) -> str:
        if isinstance(element, StepElement):
            return self._step(element.step, parent, stage, levels, queue, in_rollback)
        assert isinstance(element, StepGroupElement)
        return self._group(element.step_group, parent, stage, levels, queue, in_rollback)

    def _group(self, group: StepGroup, parent: str, stage: str, levels: Levels, queue: list[str] | None,
               in_rollback: bool) -> str:
        key = f"{parent}.{group.identifier}"
        own = [*levels, _strategies(group.failure_strategies)]
        queue = _selectors(group.delegate_selectors) or queue
        slots = self._elements(group.steps, key, stage, own, queue, in_rollback)
        rollback = self._rollback(group.rollback_steps, key, stage, queue)
        when = group.when
        self.nodes[key] = PlanNode(
            key=key, kind="group", identifier=group.identifier, name=group.name or group.identifier,
            parent=parent, stage=stage, slots=slots, rollback=rollback,
            gate=when.stage_status if when else "Success", condition=when.condition if when else None,
            in_rollback=in_rollback, timeout=_seconds(group.timeout),
            strategies={k.value: v for k, v in resolve(own).items()},
            line=self._line(key),
        )
        return key

    def _step(self, step: Step, parent: str, stage: str, levels: Levels, queue: list[str] | None,
              in_rollback: bool) -> str:
        key = f"{parent}.{step.identifier}"
        spec = step.spec or {}
        selectors = _selectors(step.delegate_selectors, spec.get("delegateSelectors")) or queue
        when = step.when
        self.nodes[key] = PlanNode(
            key=key, kind="step", identifier=step.identifier, name=step.name or step.identifier,
            parent=parent, stage=stage,
            gate=when.stage_status if when else "Success", condition=when.condition if when else None,
            in_rollback=in_rollback,
            strategies={k.value: v for k, v in resolve([*levels, _strategies(step.failure_strategies)]).items()},
            timeout=_seconds(step.timeout),
            step_type=step.type or _template_type(step),
            spec=spec,
            queue=selectors[0] if selectors else None,  # None: the deployment's default queue
            line=self._line(key),
        )
        return key


def _template_type(step: Step) -> str | None:
    inputs = (step.template or {}).get("templateInputs") or {}
    return inputs.get("type") if isinstance(inputs, dict) else None


def compile_plan(
    pipeline: Pipeline,
    children: dict[str, Plan] | None = None,
    source: str | None = None,
    lines: dict[str, int] | None = None,
) -> Plan:
    """Compile a validated pipeline.

    ``children`` are compiled plans of chained pipelines (by identifier); ``lines`` maps node keys
    to the YAML line that defines them, so run views can point back at the file.
    """
    nodes = _Compiler(pipeline, lines).compile()
    return Plan(
        pipeline=pipeline.identifier,
        name=pipeline.name or pipeline.identifier,
        variables=_variables(pipeline.variables),
        timeout=_seconds(pipeline.timeout),
        nodes=nodes,
        children=children or {},
        source=source,
    )
