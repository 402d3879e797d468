"""Rules a schema cannot express, checked on the raw data with paths for every finding.

Duplicate identifiers among siblings, step types without an executor, step specs against the
executor's spec model, ``when`` keys of the wrong level, stages without what their type needs,
conditions that do not parse, and the failure-strategy rules of :mod:`strategies.rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from orchestrator.loading.issues import Issue
from orchestrator.loading.origin import SourceMap
from orchestrator.loading.pydantic_issues import validation_issues
from orchestrator.loading.step_types import PluginImportError, known_step_types, register_hint, step_spec_model
from orchestrator.loading.structure import Element, RollbackSection, walk
from orchestrator.model import is_runtime_input
from strategies.model import FailureStrategy
from strategies.rules import check_level

STAGE_TYPES_WITH_EXECUTION = ("Custom", "Deployment", "CI", "Approval")
_KIND_NAMES = {"stage": "stage", "group": "step group", "step": "step"}


def semantic_issues(data: Any, source: SourceMap) -> list[Issue]:
    """Every semantic problem in ``data`` (``{"pipeline": ...}``)."""
    walked = list(walk(data))
    issues = _duplicate_identifiers(walked, source)
    step_types = _step_types(source, issues)
    for item in walked:
        if isinstance(item, RollbackSection):
            continue
        issues += _when_issues(item, source)
        issues += _strategy_issues(item, source)
        if item.kind == "stage":
            issues += _stage_issues(item, source)
        elif item.kind == "step":
            issues += _step_issues(item, source, step_types)
    return issues


def _step_types(source: SourceMap, issues: list[Issue]) -> set[str]:
    try:
        return known_step_types()
    except PluginImportError as exc:
        issues.append(Issue(source.main.file, None, "", "plugin_error", str(exc)))
        from workers.executors.registry import BUILTIN_EXECUTORS

        return set(BUILTIN_EXECUTORS)


def _duplicate_identifiers(walked: list[Element | RollbackSection], source: SourceMap) -> list[Issue]:
    issues: list[Issue] = []
    first_seen: dict[str, Element] = {}
    sections = {item.key: item for item in walked if isinstance(item, RollbackSection)}
    for item in walked:
        if not isinstance(item, Element) or item.key is None:
            continue
        at = (*item.path, "identifier")
        section = sections.get(item.key)
        if section is not None:
            owner = section.owner.key
            issues.append(source.issue(at, "duplicate_identifier",
                                       f"identifier 'rollback' collides with the rollbackSteps section of '{owner}' "
                                       f"(both would be node '{item.key}'); rename the {_KIND_NAMES[item.kind]}"))
            continue
        earlier = first_seen.get(item.key)
        if earlier is None:
            first_seen[item.key] = item
            continue
        _, where, _ = source.locate(earlier.path)
        _, _, line = source.locate((*earlier.path, "identifier"))
        scope = "in the pipeline" if item.kind == "stage" else f"among the siblings in '{item.parent_key}'"
        issues.append(source.issue(at, "duplicate_identifier",
                                   f"duplicate identifier '{item.identifier}' {scope}: the {_KIND_NAMES[earlier.kind]} at "
                                   f"{where} (line {line}) already uses it"))
    return issues


def _when_issues(item: Element, source: SourceMap) -> list[Issue]:
    when = item.body.get("when")
    if not isinstance(when, dict):
        return []
    issues = []
    own, wrong = ("pipelineStatus", "stageStatus") if item.kind == "stage" else ("stageStatus", "pipelineStatus")
    if wrong in when:
        level = "a stage" if item.kind == "stage" else f"a {_KIND_NAMES[item.kind]}"
        issues.append(source.issue((*item.path, "when", wrong), "invalid_when",
                                   f"the `when` of {level} uses {own} (Success, Failure or All), not {wrong}"))
    condition = when.get("condition")
    if condition is not None and not isinstance(condition, (dict, list)) and not is_runtime_input(condition):
        text = condition if isinstance(condition, str) else str(condition).lower()
        problem = _condition_problem(text)
        if problem:
            issues.append(source.issue((*item.path, "when", "condition"), "invalid_condition",
                                       f"{problem}; the condition is {text!r}"))
    return issues


@lru_cache(maxsize=1)
def _condition_parser() -> tuple[Callable[[str], Any], type[Exception]] | None:
    """The expression engine's parser (imported lazily: validation works without it)."""
    try:
        from orchestrator.expressions import ConditionSyntaxError, parse_condition
    except ImportError:
        return None
    return parse_condition, ConditionSyntaxError


def _condition_problem(text: str) -> str | None:
    parser = _condition_parser()
    if parser is None:
        return None
    parse, syntax_error = parser
    try:
        parse(text)
    except syntax_error as exc:
        return _first_line(str(exc)) or "invalid condition"
    except Exception as exc:  # noqa: BLE001 - a parser failure must not become a traceback for the user
        return f"invalid condition ({type(exc).__name__}: {_first_line(str(exc))})"
    return None


def _first_line(text: str) -> str:
    """Issue messages are one line (parsers add a caret diagram below the first)."""
    return text.strip().splitlines()[0] if text.strip() else ""


def _strategy_issues(item: Element, source: SourceMap) -> list[Issue]:
    raw = item.body.get("failureStrategies")
    if not isinstance(raw, list):
        return []
    entries: list[FailureStrategy | None] = []
    for entry in raw:
        try:
            entries.append(FailureStrategy.model_validate(entry))
        except ValidationError:
            entries.append(None)  # the model's own errors are reported with the pipeline's
    base = (*item.path, "failureStrategies")
    return [source.issue((*base, *p.path), p.code, p.message)
            for p in check_level(entries, in_rollback=item.in_rollback)]


def _stage_issues(item: Element, source: SourceMap) -> list[Issue]:
    spec = item.body.get("spec")
    kind = item.body.get("type")
    if not isinstance(spec, dict):
        return []
    if kind == "Pipeline":
        if not spec.get("pipeline"):
            return [source.issue((*item.path, "spec", "pipeline"), "missing_field",
                                 "a stage of type Pipeline names its child pipeline's identifier in spec.pipeline")]
        return []
    if kind in STAGE_TYPES_WITH_EXECUTION and spec.get("execution") is None:
        return [source.issue((*item.path, "spec", "execution"), "missing_field",
                             f"a stage of type {kind} needs spec.execution.steps")]
    return []


def _step_issues(item: Element, source: SourceMap, known: set[str]) -> list[Issue]:
    step_type = item.body.get("type")
    name = item.identifier or item.body.get("identifier")
    if step_type is None:
        template = item.body.get("template")
        if isinstance(template, dict):
            ref = template.get("templateRef", "?")
            inputs = template.get("templateInputs")
            inner = inputs.get("type") if isinstance(inputs, dict) else None
            typed = f" (its type would be {inner})" if inner else ""
            return [source.issue((*item.path, "template"), "unknown_step_type",
                                 f"step '{name}' uses step template '{ref}'{typed}, and step templates are not "
                                 "resolved: write the step inline (type and spec)")]
        return [source.issue(item.path, "unknown_step_type",
                             f"step '{name}' has no type; give it one of {', '.join(sorted(known))} "
                             "or a registered type")]
    if not isinstance(step_type, str):
        return []  # the model reports the wrong type
    if step_type not in known:
        return [source.issue((*item.path, "type"), "unknown_step_type",
                             f"unknown step type '{step_type}' (step '{name}'); "
                             + register_hint(step_type))]
    return _spec_issues(item, source, step_type)


def _spec_issues(item: Element, source: SourceMap, step_type: str) -> list[Issue]:
    model = step_spec_model(step_type)
    spec = item.body.get("spec")
    if model is None or not (spec is None or isinstance(spec, dict)):
        return []
    spec = spec or {}
    base = (*item.path, "spec")
    try:
        model.model_validate(spec)
    except ValidationError as exc:
        return validation_issues(exc, spec, base, source, code_for=lambda _p, _c: "invalid_step_spec",
                                 keep=lambda err: not (err["type"] != "value_error" and _is_expression(err.get("input"))))
    except Exception as exc:  # noqa: BLE001 - a faulty spec model is still the user's error to see
        return [source.issue(base, "invalid_step_spec", f"the {step_type} spec is invalid: {exc}")]
    return []


def _is_expression(value: Any) -> bool:
    """A value that is one ``<+...>`` expression gets its type at run time: a static type check
    cannot judge it (validators that check such values themselves raise value errors, kept)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith("<+") and text.endswith(">")
