"""Which runtime inputs a run cannot start without (``require_inputs=True``, used by ``run``).

Only fields the product acts on are checked: pipeline and stage variable values, the spec of a
step whose type has an executor, ``when.condition`` and ``timeout``. Keys the product ignores
(service, environment, ...) may stay ``<+input>``; an unfilled ``failureStrategies: <+input>``
means "no strategy at this level".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator.loading.issues import Issue
from orchestrator.loading.origin import SourceMap
from orchestrator.loading.paths import YamlPath
from orchestrator.loading.runtime_inputs import is_unfilled
from orchestrator.loading.step_types import PluginImportError, known_step_types
from orchestrator.loading.structure import elements

_KIND_NAMES = {"stage": "stage", "group": "step group", "step": "step"}


def missing_input_issues(data: Any, source: SourceMap) -> list[Issue]:
    """An issue for every needed runtime input that has neither a value nor a default."""
    pipeline = data.get("pipeline") if isinstance(data, dict) else None
    if not isinstance(pipeline, dict):
        return []
    try:
        known = known_step_types()
    except PluginImportError:
        known = set()
    found: list[tuple[YamlPath, str]] = []
    found += _variables(pipeline.get("variables"), ("pipeline", "variables"), "pipeline variable")
    found += _scalar(pipeline, ("pipeline",), "timeout", "the pipeline's timeout")
    for item in elements(data):
        label = f"{_KIND_NAMES[item.kind]} '{item.identifier or '?'}'"
        found += _scalar(item.body, item.path, "timeout", f"the timeout of {label}")
        when = item.body.get("when")
        if isinstance(when, dict):
            found += _scalar(when, (*item.path, "when"), "condition", f"the condition of {label}")
        if item.kind == "stage":
            found += _variables(item.body.get("variables"), (*item.path, "variables"), f"{label} variable")
            spec = item.body.get("spec")
            if isinstance(spec, dict):
                found += _variables(spec.get("variables"), (*item.path, "spec", "variables"), f"{label} variable")
        if item.kind == "step" and item.body.get("type") in known:
            found += [(path, f"spec field of {label}") for path in _unfilled((*item.path, "spec"), item.body.get("spec"))]
    return [source.issue(path, "missing_input",
                         f"{what} has no value: it is a runtime input (<+input>) without a default and the inputs "
                         "do not fill it; pass it with --inputs")
            for path, what in found]


def _scalar(holder: dict[str, Any], path: YamlPath, key: str, what: str) -> list[tuple[YamlPath, str]]:
    return [((*path, key), what)] if is_unfilled(holder.get(key)) else []


def _variables(variables: Any, path: YamlPath, what: str) -> list[tuple[YamlPath, str]]:
    if not isinstance(variables, list):
        return []
    out = []
    for index, variable in enumerate(variables):
        if isinstance(variable, dict) and is_unfilled(variable.get("value")):
            out.append(((*path, index, "value"), f"{what} '{variable.get('name', '?')}'"))
    return out


def _unfilled(path: YamlPath, value: Any) -> Iterator[YamlPath]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _unfilled((*path, key), inner)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _unfilled((*path, index), inner)
    elif is_unfilled(value):
        yield path
