"""Resolve references against a run: the compiled plan, run facts, and finished steps' outputs.

``route`` maps a reference to what it names (a variable, a step's output, a status, a fact)
using the plan alone, so the same mapping serves evaluation (:class:`RunContextResolver`) and
prefetching (:func:`output_references`, :func:`status_references`: which outputs and statuses a
node will need, to fetch them from Redis in one round trip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from orchestrator.expressions.condition import Condition, parse_condition
from orchestrator.expressions.errors import ExpressionError, UnresolvedExpression
from orchestrator.expressions.evaluate import Names
from orchestrator.expressions.nodes import Ref, Segment, segments_text, walk
from orchestrator.expressions.parser import parse_body, parse_reference
from orchestrator.expressions.render import render_text, render_value
from orchestrator.expressions.scan import find_expressions
from orchestrator.expressions.shell import render_shell
from orchestrator.plan.model import Plan, PlanNode

OutputsFn = Callable[[str], "dict[str, Any] | None"]
StatusFn = Callable[[str], "str | None"]
UNSUPPORTED_ROOTS = {
    "secrets": "secrets are not supported: pass them to the worker's environment instead",
    "env": "Harness environments (env.*) are not modelled by this orchestrator",
    "service": "Harness services (service.*) are not modelled by this orchestrator",
    "infra": "Harness infrastructure (infra.*) is not modelled by this orchestrator",
    "artifact": "artifacts (artifact.*) are not modelled by this orchestrator",
    "artifacts": "artifacts (artifacts.*) are not modelled by this orchestrator",
    "matrix": "matrix/looping strategies are not supported",
    "strategy": "matrix/looping strategies are not supported",
    "input": "<+input> must be filled by the run's inputs before the run starts",
    "trigger": "triggers are not supported",
}


@dataclass(frozen=True)
class Target:
    """What a reference names, and the path still to follow inside it."""

    kind: str
    """pipeline_var, stage_var, output, status, fact or value."""
    node: str | None = None
    """Node key: the step (output/status) or stage (stage_var)."""
    name: str | None = None
    """Variable name (pipeline_var/stage_var) or fact name (executionId, sequenceId)."""
    rest: tuple[Segment, ...] = ()
    value: Any = None

    @property
    def label(self) -> str:
        if self.kind == "pipeline_var":
            return f"pipeline.variables.{self.name}"
        return f"pipeline.stages.{self.node}.variables.{self.name}"


def route(plan: Plan, node_key: str, segments: tuple[Segment, ...]) -> Target:
    """Map a reference (already split into segments) to its target, from the plan alone."""
    text = segments_text(segments)
    node = plan.nodes.get(node_key)
    if node is None:
        raise UnresolvedExpression(text, f"node {node_key!r} is not in the plan")

    def fail(reason: str) -> UnresolvedExpression:
        return UnresolvedExpression(text, reason)

    def at(index: int) -> Segment | None:
        return segments[index] if index < len(segments) else None

    def scalar(value: Any, length: int) -> Target:
        if len(segments) != length:
            raise fail(f"{segments_text(segments[:length])} is a plain value; nothing follows it")
        return Target("value", value=value)

    root = segments[0]
    if root == "pipeline":
        head = at(1)
        if head == "variables" and isinstance(at(2), str):
            name = str(at(2))
            if name not in plan.variables:
                raise fail(f"the pipeline has no variable {name!r}")
            return Target("pipeline_var", name=name, rest=segments[3:])
        if head in ("name", "identifier"):
            return scalar(plan.name if head == "name" else plan.pipeline, 2)
        if head in ("executionId", "sequenceId"):
            if len(segments) != 2:
                raise fail(f"pipeline.{head} is a plain value; nothing follows it")
            return Target("fact", name=str(head))
        if head == "stages" and isinstance(at(2), str):
            stage = plan.nodes.get(str(at(2)))
            if stage is None or stage.kind != "stage":
                raise fail(f"the pipeline has no stage {at(2)!r}")
            return _stage_target(plan, node, stage, segments, 3, fail)
        raise fail("supported: pipeline.variables.X, pipeline.name, pipeline.identifier, pipeline.executionId,"
                   " pipeline.sequenceId, pipeline.stages.S.(status|name|identifier|variables.X|spec.execution...)")
    if root == "stage":
        return _stage_target(plan, node, _current_stage(plan, node, fail), segments, 1, fail)
    if root == "execution":
        return _step_target(plan, node, _current_stage(plan, node, fail).key, None, segments, 1, fail)
    if root == "steps":
        stage = _current_stage(plan, node, fail)
        if not isinstance(at(1), str):
            raise fail("expected steps.<step identifier>...")
        return _step_target(plan, node, stage.key, _relative_step(plan, node, stage.key, str(at(1)), fail),
                            segments, 2, fail)
    if root == "step":
        if node.kind != "step":
            raise fail(f"step.* is only available in a step ({node_key!r} is a {node.kind})")
        if at(1) in ("name", "identifier"):
            return scalar(node.name if at(1) == "name" else node.identifier, 2)
        raise fail("supported: step.name, step.identifier")
    if isinstance(root, str) and root in UNSUPPORTED_ROOTS:
        raise fail(UNSUPPORTED_ROOTS[root])
    raise fail("unknown reference (supported roots: pipeline, stage, execution, steps, step)")


def _current_stage(plan: Plan, node: PlanNode, fail: Callable[[str], Exception]) -> PlanNode:
    if node.stage is None:
        raise fail(f"{node.key!r} is not inside a stage")
    return plan.nodes[node.stage]


def _stage_target(plan: Plan, node: PlanNode, stage: PlanNode, segments: tuple[Segment, ...], i: int,
                  fail: Callable[[str], Exception]) -> Target:
    head = segments[i] if i < len(segments) else None
    tail = segments[i + 1 :]
    if head == "variables" and tail and isinstance(tail[0], str):
        if tail[0] not in stage.variables:
            raise fail(f"stage {stage.key!r} has no variable {tail[0]!r}")
        return Target("stage_var", node=stage.key, name=tail[0], rest=tail[1:])
    if head in ("name", "identifier") and not tail:
        return Target("value", value=stage.name if head == "name" else stage.identifier)
    if head == "status" and not tail and segments[0] == "pipeline":
        return Target("status", node=stage.key)
    if head == "spec" and tail[:1] == ("execution",):
        return _step_target(plan, node, stage.key, None, segments, i + 2, fail)
    raise fail("after a stage: variables.X, name, identifier, spec.execution.steps...; and .status"
               " via pipeline.stages.S.status")


def _relative_step(plan: Plan, node: PlanNode, stage: str, identifier: str,
                   fail: Callable[[str], Exception]) -> str:
    """``steps.T``: a sibling first, then the one T in the same section of the stage, then anywhere in it."""
    candidates = [n for n in plan.nodes.values()
                  if n.stage == stage and n.identifier == identifier and n.kind in ("step", "group")]
    tiers = (
        [n for n in candidates if n.parent == node.parent],
        [n for n in candidates if n.in_rollback == node.in_rollback],
        candidates,
    )
    for tier in tiers:
        if len(tier) == 1:
            return tier[0].key
        if len(tier) > 1:
            keys = ", ".join(sorted(n.key for n in tier))
            raise fail(f"steps.{identifier} is ambiguous in stage {stage!r} ({keys}); use the full path"
                       " stage.spec.execution.steps.<group>.steps.<step>")
    raise fail(f"stage {stage!r} has no step or step group {identifier!r}")


def _step_target(plan: Plan, node: PlanNode, stage: str, key: str | None, segments: tuple[Segment, ...],
                 i: int, fail: Callable[[str], Exception]) -> Target:
    """Follow ``steps.A.steps.B`` / ``rollbackSteps.R`` from the stage (or from ``key``) to a node."""
    while i < len(segments) and segments[i] in ("steps", "rollbackSteps"):
        child = segments[i + 1] if i + 1 < len(segments) else None
        if not isinstance(child, str):
            raise fail(f"expected a step identifier after .{segments[i]}")
        base = key or stage
        candidate = f"{base}.rollback.{child}" if segments[i] == "rollbackSteps" else f"{base}.{child}"
        if candidate not in plan.nodes:
            raise fail(f"{base!r} has no step or step group {child!r}")
        key, i = candidate, i + 2
    if key is None:
        raise fail("expected .steps.<step identifier>")
    rest = segments[i:]
    if rest == ("status",):
        return Target("status", node=key)
    if rest[:1] == ("output",):
        if plan.nodes[key].kind != "step":
            raise fail(f"{key!r} is a step group; only steps have outputs")
        return Target("output", node=key, rest=rest[1:])
    raise fail(f"expected .output.<name> or .status after the step {key!r}")


class RunContextResolver:
    """``resolve(reference)`` for one node of one run: build one per node evaluation.

    ``outputs(node_key)`` gives a finished step's output dict (``{"outputVariables": {...},
    "httpResponseCode": 200, ...}``) or None; ``status(node_key)`` its status or None (not started).
    Variable values may hold expressions, which are rendered in this node's context; step outputs
    are data and are never rendered (a value cannot smuggle in an expression).
    """

    def __init__(
        self,
        plan: Plan,
        node_key: str,
        *,
        run_id: str,
        outputs: OutputsFn,
        status: StatusFn,
        sequence_id: int | None = None,
        max_depth: int = 10,
    ) -> None:
        if node_key not in plan.nodes:
            raise KeyError(f"node {node_key!r} is not in the plan")
        self.plan = plan
        self.node_key = node_key
        self.run_id = run_id
        self.sequence_id = sequence_id
        self.outputs = outputs
        self.status = status
        self.max_depth = max_depth
        self._active: list[str] = []

    def __call__(self, reference: str) -> Any:
        return self.resolve(reference)

    def resolve(self, reference: str) -> Any:
        segments = parse_reference(reference.strip())
        target = route(self.plan, self.node_key, segments)
        text = segments_text(segments)
        if target.kind == "value":
            return target.value
        if target.kind == "fact":
            if target.name == "executionId":
                return self.run_id
            if self.sequence_id is None:
                raise UnresolvedExpression(text, "this run has no sequence id")
            return self.sequence_id
        if target.kind == "status":
            return self.status(str(target.node)) or "NotStarted"
        if target.kind == "output":
            found = self.outputs(str(target.node))
            if found is None:
                raise UnresolvedExpression(
                    text, f"step {target.node!r} has no outputs (it has not finished, or did not run)")
            return _strict(found, target.rest, text, f"step {target.node!r} has no output")
        raw = self.plan.variables[str(target.name)] if target.kind == "pipeline_var" else \
            self.plan.nodes[str(target.node)].variables[str(target.name)]
        return _strict(self._render_variable(target.label, raw, text), target.rest, text, f"{target.label} has no")

    def _render_variable(self, label: str, raw: Any, text: str) -> Any:
        if label in self._active:
            cycle = " -> ".join([*self._active[self._active.index(label):], label])
            raise UnresolvedExpression(text, f"variables refer to each other in a cycle: {cycle}")
        if len(self._active) >= self.max_depth:
            raise UnresolvedExpression(text, f"variables refer to variables more than {self.max_depth} levels deep")
        self._active.append(label)
        try:
            return render_value(raw, self.resolve)
        finally:
            self._active.pop()

    # -- conveniences for executors --------------------------------------------------------
    def render_text(self, text: str, names: Names | None = None) -> str:
        return render_text(text, self.resolve, names)

    def render_value(self, obj: Any, names: Names | None = None) -> Any:
        return render_value(obj, self.resolve, names)

    def render_shell(self, script: str, names: Names | None = None, *, shell: str = "bash") -> tuple[str, dict[str, str]]:
        return render_shell(script, self.resolve, names, shell=shell)

    def condition(self, condition: str | Condition, names: Names | None = None) -> bool:
        parsed = condition if isinstance(condition, Condition) else parse_condition(condition)
        return parsed.evaluate(self.resolve, names)


def _strict(value: Any, path: tuple[Segment, ...], text: str, missing: str) -> Any:
    """Follow a path; a missing key is an error (a typo in an output name should not read as null)."""
    for n, seg in enumerate(path):
        if isinstance(value, dict) and seg in value:
            value = value[seg]
        elif isinstance(value, (list, tuple)) and isinstance(seg, int) and seg < len(value):
            value = value[seg]
        else:
            raise UnresolvedExpression(text, f"{missing} {segments_text(path[: n + 1])}")
    return value


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, Condition):
        yield obj.text
    elif isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _strings(value)


def _references(obj: Any, plan: Plan, node_key: str) -> tuple[set[str], set[str]]:
    """Step keys whose outputs, and node keys whose statuses, the expressions in ``obj`` use.

    Follows variables whose values hold expressions; skips what cannot be parsed or routed
    (evaluation will report it).
    """
    outputs: set[str] = set()
    statuses: set[str] = set()
    seen: set[str] = set()

    def scan(value: Any) -> None:
        for text in _strings(value):
            if "<+" not in text:
                continue
            try:
                spans = find_expressions(text)
            except ExpressionError:
                continue
            for span in spans:
                try:
                    nodes = list(walk(parse_body(span.body)))
                except ExpressionError:
                    continue  # one malformed expression must not hide the others
                for item in nodes:
                    if isinstance(item, Ref):
                        visit(item.segments)

    def visit(segments: tuple[Segment, ...]) -> None:
        try:
            target = route(plan, node_key, segments)
        except ExpressionError:
            return
        if target.kind == "output":
            outputs.add(str(target.node))
        elif target.kind == "status":
            statuses.add(str(target.node))
        elif target.kind in ("pipeline_var", "stage_var") and target.label not in seen:
            seen.add(target.label)
            scan(plan.variables[str(target.name)] if target.kind == "pipeline_var"
                 else plan.nodes[str(target.node)].variables[str(target.name)])

    scan(obj)
    return outputs, statuses


def output_references(text_or_obj: Any, plan: Plan, node_key: str) -> set[str]:
    """Keys of the steps whose outputs the expressions in a spec, condition or text refer to."""
    return _references(text_or_obj, plan, node_key)[0]


def status_references(text_or_obj: Any, plan: Plan, node_key: str) -> set[str]:
    """Keys of the stages/steps whose status (``pipeline.stages.S.status``, ``...steps.T.status``) is used."""
    return _references(text_or_obj, plan, node_key)[1]
