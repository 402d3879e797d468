"""How a compiled plan is shown: the stable JSON of ``plan --json`` and the rich tree of ``plan``.

Both answer "what happens if this step fails with X?": for every step, the effective action per
error type after merging step, group and stage strategies.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree

from orchestrator.plan.model import ROOT, Plan, PlanNode
from strategies.errors import ERROR_TYPES


def plan_json(plan: Plan, include_children: bool = True) -> dict[str, Any]:
    """``{"pipeline": id, "nodes": {key: {...}}}`` with nodes in execution order."""
    document: dict[str, Any] = {"pipeline": plan.pipeline, "nodes": {k: node_json(plan.nodes[k]) for k in plan.order}}
    if include_children and plan.children:
        document["children"] = {k: plan_json(v, include_children=False) for k, v in plan.children.items()}
    return document


def node_json(node: PlanNode) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": node.kind, "name": node.name}
    if node.kind == "stage":
        out["type"] = node.stage_type
        if node.child_pipeline:
            out["pipeline"] = node.child_pipeline
    if node.kind == "step":
        out["type"] = node.step_type
    if node.kind in ("stage", "group", "step"):
        out["when"] = {"status": node.gate, "condition": node.condition}
    if node.kind != "rollback" and node.timeout is not None:
        out["timeout"] = node.timeout
    if node.kind == "step":
        out["in_rollback"] = node.in_rollback
        out["strategies"] = ordered_strategies(node.strategies)
    out["line"] = node.line
    return out


def ordered_strategies(strategies: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Error types in their canonical order; only those with an effective action."""
    return {e.value: strategies[e.value] for e in ERROR_TYPES if e.value in strategies}


def describe_action(action: dict[str, Any]) -> str:
    """``Retry(120, [1m]) -> ManualIntervention(2h) -> MarkAsFailure`` for an action dict."""
    kind = action.get("type", "?")
    spec = action.get("spec") or {}
    if kind in ("Retry", "RetryStepGroup"):
        text = f"{kind}({spec.get('retryCount')}, [{', '.join(map(str, spec.get('retryIntervals') or []))}])"
        follow = (spec.get("onRetryFailure") or {}).get("action")
        return f"{text} -> {describe_action(follow)}" if follow else text
    if kind == "ManualIntervention":
        follow = (spec.get("onTimeout") or {}).get("action")
        text = f"ManualIntervention({spec.get('timeout')})"
        return f"{text} -> {describe_action(follow)}" if follow else text
    return str(kind)


def strategy_lines(strategies: dict[str, dict[str, Any]]) -> list[str]:
    """Error types grouped by action; the largest group is "any other error"."""
    if not strategies:
        return ["no failure strategy: a failure leaves the step Failed"]
    groups: dict[str, list[str]] = {}
    for error, action in ordered_strategies(strategies).items():
        groups.setdefault(describe_action(action), []).append(error)
    if len(groups) == 1 and len(strategies) == len(ERROR_TYPES):
        return [f"any error: {next(iter(groups))}"]
    ordered = sorted(groups.items(), key=lambda item: len(item[1]))
    lines = []
    for index, (action, errors) in enumerate(ordered):
        last = index == len(ordered) - 1
        if last and len(strategies) == len(ERROR_TYPES) and len(errors) > 2:
            lines.append(f"any other error: {action}")
        else:
            lines.append(f"{', '.join(errors)}: {action}")
    unmatched = [e.value for e in ERROR_TYPES if e.value not in strategies]
    if unmatched:
        lines.append(f"{', '.join(unmatched)}: no strategy (the step stays Failed)")
    return lines


def _label(node: PlanNode) -> str:
    gate = "" if node.gate == "Success" or node.kind == "rollback" else f" when {node.gate}"
    condition = f" if {escape(_short(node.condition))}" if node.condition else ""
    if node.kind == "stage":
        child = f" -> runs pipeline '{escape(node.child_pipeline)}'" if node.child_pipeline else ""
        return f"[bold]stage[/] {escape(node.key)} [dim]({node.stage_type})[/]{child}{gate}{condition}"
    if node.kind == "group":
        return f"[bold]group[/] {escape(node.identifier)}{gate}{condition}"
    if node.kind == "rollback":
        return "[bold yellow]rollbackSteps[/]"
    return f"{escape(node.identifier)} [dim]({escape(str(node.step_type))})[/]{gate}{condition}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plan_tree(plan: Plan) -> Tree:
    """The plan as a tree: stages, parallel blocks, groups, steps with their strategies, rollbackSteps."""
    root = Tree(f"[bold]pipeline[/] {escape(plan.pipeline)} [dim]({escape(plan.name)})[/]")

    def add(parent: Tree, key: str) -> None:
        node = plan.nodes[key]
        branch = parent.add(_label(node))
        if node.kind == "step":
            for line in strategy_lines(node.strategies):
                branch.add(f"[dim]{escape(line)}[/]")
        for slot in node.slots:
            holder = branch.add("[bold]parallel[/]") if len(slot) > 1 else branch
            for child in slot:
                add(holder, child)
        if node.rollback:
            add(branch, node.rollback)

    for slot in plan.nodes[ROOT].slots:
        holder = root.add("[bold]parallel[/]") if len(slot) > 1 else root
        for key in slot:
            add(holder, key)
    return root
