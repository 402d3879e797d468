"""The compiled plan: the pipeline flattened into nodes keyed by path, ready to execute.

A plan is computed once per run at submit (inputs filled, strategies resolved per step), stored
with the run in Redis and cached by every worker process, so that nothing is re-derived per step.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

NodeKind = Literal["pipeline", "stage", "group", "step", "rollback"]
Gate = Literal["Success", "Failure", "All"]

ROOT = "#pipeline"
"""Key of the pipeline node (``#`` cannot appear in identifiers, so no stage collides with it)."""
PIPELINE_ROLLBACK = "#rollback"
"""Key of the container that PipelineRollback builds at run time."""



class PlanNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    kind: NodeKind
    identifier: str
    name: str
    parent: str | None = None
    """The container this node runs in (for a stage: the pipeline)."""
    stage: str | None = None
    slots: list[list[str]] = Field(default_factory=list)
    """Containers: children in execution order; the members of one slot start together (parallel)."""
    rollback: str | None = None
    """Stage or group: key of its rollbackSteps container, if it has one."""
    gate: Gate = "Success"
    condition: str | None = None
    in_rollback: bool = False
    strategies: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Effective action per error type (steps; for stages the stage level alone)."""
    timeout: float | None = None
    # steps
    step_type: str | None = None
    spec: dict[str, Any] | None = None
    queue: str | None = None
    """Celery queue named by the first delegate selector; None: ORCHESTRATOR_DEFAULT_QUEUE."""
    # stages
    stage_type: str | None = None
    child_pipeline: str | None = None
    child_inputs: dict[str, Any] | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    line: int | None = None


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    pipeline: str
    name: str
    variables: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = None
    nodes: dict[str, PlanNode]
    children: dict[str, "Plan"] = Field(default_factory=dict)
    """Compiled child pipelines (``type: Pipeline`` stages), by identifier."""
    source: str | None = None
    _derived: dict[str, Any] = PrivateAttr(default_factory=dict)
    """Per-node facts derived once per process (prefetch lists), not part of the plan's value."""

    def derived(self, name: str, node: str, compute: Any) -> Any:
        key = f"{name}:{node}"
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def node(self, key: str) -> PlanNode:
        return self.nodes[key]

    @cached_property
    def order(self) -> list[str]:
        """Every node key in execution order (rollback sections after what they roll back)."""
        out: list[str] = []

        def visit(key: str) -> None:
            node = self.nodes[key]
            if key != ROOT:
                out.append(key)
            for slot in node.slots:
                for child in slot:
                    visit(child)
            if node.rollback:
                visit(node.rollback)

        visit(ROOT)
        return out

    @cached_property
    def steps(self) -> list[str]:
        return [k for k in self.order if self.nodes[k].kind == "step"]

    def ancestors(self, key: str) -> list[str]:
        """Containers from the node's parent up to the root."""
        chain: list[str] = []
        parent = self.nodes[key].parent
        while parent is not None:
            chain.append(parent)
            parent = self.nodes[parent].parent
        return chain

    def descendants(self, key: str) -> list[str]:
        out: list[str] = []
        stack = [key]
        while stack:
            node = self.nodes[stack.pop()]
            for slot in node.slots:
                for child in slot:
                    out.append(child)
                    stack.append(child)
        return out

    def enclosing_group(self, key: str) -> str | None:
        """Nearest step group around a step (not crossing a rollback section or the stage)."""
        for parent in self.ancestors(key):
            kind = self.nodes[parent].kind
            if kind == "group":
                return parent
            if kind in ("stage", "rollback"):
                return None
        return None


Plan.model_rebuild()


def plan_to_json(plan: Plan) -> str:
    """Compact JSON for storage: each distinct strategy map is written once (steps of one stage
    usually share the stage's), so a plan's size grows with its steps, not steps x error types."""
    import json

    def compact(data: dict) -> dict:
        table: list[dict] = []
        index: dict[str, int] = {}
        for node in data.get("nodes", {}).values():
            strategies = node.pop("strategies", None)
            if strategies:
                key = json.dumps(strategies, sort_keys=True)
                if key not in index:
                    index[key] = len(table)
                    table.append(strategies)
                node["strategy_ref"] = index[key]
        if table:
            data["strategy_table"] = table
        for child in data.get("children", {}).values():
            compact(child)
        return data

    return json.dumps(compact(plan.model_dump(mode="json", exclude_defaults=True)), separators=(",", ":"))


def plan_from_json(raw: str | bytes) -> Plan:
    import json

    def expand(data: dict) -> dict:
        table = data.pop("strategy_table", [])
        for node in data.get("nodes", {}).values():
            ref = node.pop("strategy_ref", None)
            if ref is not None:
                node["strategies"] = table[ref]
        for child in data.get("children", {}).values():
            expand(child)
        return data

    return Plan.model_validate(expand(json.loads(raw)))
