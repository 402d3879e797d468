"""Input sets (SPEC §10): fill a pipeline's ``<+input>`` fields from a document of the same shape.

An input set holds only the values of runtime inputs: stages, steps and step groups are matched
by identifier, variables by name. Setting a field the pipeline fixed, naming something the
pipeline does not have, or a value outside ``allowedValues`` is an issue in the input set's file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.loading.issues import Issue
from orchestrator.loading.origin import Origin, SourceMap
from orchestrator.loading.paths import YamlPath
from orchestrator.loading.runtime_inputs import allows, input_default, parse_runtime_input
from orchestrator.loading.yaml_source import read_yaml_file
from orchestrator.model import is_runtime_input

InputsSource = str | Path | Mapping[str, Any]
WRAPPERS = ("stage", "step", "stepGroup")
_IDENTITY_KEYS = ("identifier", "name", "key")


@dataclass
class InputSet:
    """Input-set data as ``{"pipeline": {...}}`` and where it was written."""

    data: dict[str, Any]
    origin: Origin


def read_input_set(inputs: InputsSource) -> tuple[InputSet | None, list[Issue]]:
    """An input set from a YAML file, an input-set-shaped dict, or a flat ``{variable: value}`` dict."""
    if isinstance(inputs, (str, Path)):
        doc, issues = read_yaml_file(inputs)
        if doc is None:
            return None, issues
        return _from_document(doc.data, Origin(doc.file, doc.lines), flat_allowed=False)
    if isinstance(inputs, Mapping):
        return _from_document(dict(inputs), Origin("<inputs>"), flat_allowed=True)
    return None, [Issue("<inputs>", None, "", "invalid_inputs",
                        f"inputs must be a file path or a mapping, not {type(inputs).__name__}")]


def _from_document(data: Any, origin: Origin, flat_allowed: bool) -> tuple[InputSet | None, list[Issue]]:
    def invalid(message: str, path: YamlPath = ()) -> tuple[None, list[Issue]]:
        where, line = origin.locate(path)
        return None, [Issue(origin.file, line, where, "invalid_inputs", message)]

    if not isinstance(data, dict):
        return invalid("an input set must be a mapping with `pipeline:` at the top")
    if "inputSet" in data:
        body = data["inputSet"]
        if not isinstance(body, dict) or not isinstance(body.get("pipeline"), dict):
            return invalid("expected `inputSet: {pipeline: {...}}`", ("inputSet",))
        origin.rewrites = [(("pipeline",), ("inputSet", "pipeline"))]
        return InputSet({"pipeline": body["pipeline"]}, origin), []
    if "pipeline" in data:
        if not isinstance(data["pipeline"], dict):
            return invalid("expected a mapping (key: value) under `pipeline:`", ("pipeline",))
        return InputSet({"pipeline": data["pipeline"]}, origin), []
    if not flat_allowed:
        return invalid("an input set must have the pipeline's shape: `pipeline: {identifier, variables: [...], "
                       "stages: [...]}`" + (f"; found {', '.join(map(str, list(data)[:5]))}" if data else ""))
    variables = [{"name": name, "value": value} for name, value in data.items()]
    for index, name in enumerate(data):
        origin.rewrites.append((("pipeline", "variables", index), (str(name),)))
        origin.rewrites.append((("pipeline", "variables", index, "value"), (str(name),)))
    return InputSet({"pipeline": {"variables": variables}}, origin), []


class _Applier:
    def __init__(self, input_set: InputSet, source: SourceMap) -> None:
        self.input_set = input_set
        self.source = source
        self.issues: list[Issue] = []

    def issue(self, input_path: YamlPath, code: str, message: str) -> None:
        where, line = self.input_set.origin.locate(input_path)
        self.issues.append(Issue(self.input_set.origin.file, line, where, code, message))

    def merge(self, parent: Any, key: Any, value: Any, target: YamlPath, at: YamlPath) -> None:
        current = parent[key]
        spec = parse_runtime_input(current)
        if spec is not None:
            if is_runtime_input(value):
                return  # the input set leaves it a runtime input
            if not allows(spec, value):
                self.issue(at, "value_not_allowed",
                           f"value {value!r} is not allowed for {self.where(target)}; allowed: {', '.join(spec.allowed or ())}")
                return
            parent[key] = value
            self.source.add_overlay(target, self.input_set.origin, at)
            return
        if isinstance(current, dict) and isinstance(value, dict):
            for name, inner in value.items():
                if name in current:
                    self.merge(current, name, inner, (*target, name), (*at, name))
                else:
                    self.issue((*at, name), "not_an_input",
                               f"the pipeline has no '{name}' at {self.where(target)}; an input set only fills <+input> fields")
            return
        if isinstance(current, list) and isinstance(value, list):
            self.merge_list(current, value, target, at)
            return
        if value == current or (isinstance(current, str) and str(value) == current):
            return  # identifiers and types repeated for matching
        if at[-1:] == ("identifier",) and len(at) == 2:
            self.issue(at, "invalid_inputs", f"the input set is for pipeline {value!r}, not {current!r}")
            return
        self.issue(at, "not_an_input",
                   f"{self.where(target)} is not a runtime input in the pipeline (it is {_show(current)}); "
                   "an input set only fills <+input> fields")

    def merge_list(self, current: list[Any], values: list[Any], target: YamlPath, at: YamlPath) -> None:
        for index, (item, item_at) in enumerate(_flatten_parallel(values, at)):
            wrapper = _wrapper(item)
            if wrapper is not None:
                body = item[wrapper]
                found = _find_wrapped(current, target, wrapper, body.get("identifier"))
                if found is None:
                    self.issue((*item_at, wrapper, "identifier"), "unknown_input_target",
                               f"the pipeline has no {_kind(wrapper)} '{body.get('identifier')}' at {self.where(target)}")
                    continue
                holder, position, item_target = found
                self.merge(holder[position], wrapper, body, (*item_target, wrapper), (*item_at, wrapper))
                continue
            identity = next((k for k in _IDENTITY_KEYS if isinstance(item, dict) and k in item), None)
            if identity is not None:
                match = next((i for i, c in enumerate(current) if isinstance(c, dict) and c.get(identity) == item[identity]), None)
                if match is None:
                    what = "variable" if target[-1:] == ("variables",) else "item"
                    self.issue((*item_at, identity), "unknown_input_target",
                               f"the pipeline has no {what} with {identity} '{item[identity]}' at {self.where(target)}")
                    continue
                self.merge(current, match, item, (*target, match), item_at)
            elif index < len(current):
                self.merge(current, index, item, (*target, index), item_at)
            else:
                self.issue(item_at, "unknown_input_target", f"the pipeline has no item {index} at {self.where(target)}")

    def where(self, target: YamlPath) -> str:
        return self.source.locate(target)[1] or "<root>"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _kind(wrapper: str) -> str:
    return {"stepGroup": "step group"}.get(wrapper, wrapper)


def _wrapper(item: Any) -> str | None:
    if isinstance(item, dict) and len(item) == 1:
        key = next(iter(item))
        if key in WRAPPERS and isinstance(item[key], dict) and "identifier" in item[key]:
            return key
    return None


def _flatten_parallel(items: list[Any], at: YamlPath) -> Iterator[tuple[Any, YamlPath]]:
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("parallel"), list) and len(item) == 1:
            yield from _flatten_parallel(item["parallel"], (*at, index, "parallel"))
        else:
            yield item, (*at, index)


def _find_wrapped(items: list[Any], target: YamlPath, wrapper: str, identifier: Any) -> tuple[list[Any], int, YamlPath] | None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        body = item.get(wrapper)
        if isinstance(body, dict) and body.get("identifier") == identifier:
            return items, index, (*target, index)
        inner = item.get("parallel")
        if isinstance(inner, list):
            found = _find_wrapped(inner, (*target, index, "parallel"), wrapper, identifier)
            if found is not None:
                return found
    return None


def apply_input_set(data: dict[str, Any], input_set: InputSet, source: SourceMap) -> list[Issue]:
    """Fill ``data`` (``{"pipeline": ...}``, changed in place) from ``input_set``.

    Every filled value is recorded in ``source`` so later issues about it point at the input set.
    """
    applier = _Applier(input_set, source)
    if not isinstance(data.get("pipeline"), dict):
        return []
    applier.merge(data, "pipeline", input_set.data["pipeline"], ("pipeline",), ("pipeline",))
    return applier.issues


def fill_defaults(value: Any) -> Any:
    """Replace every unfilled ``<+input>.default(x)`` in ``value`` (in place for containers) by ``x``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            value[key] = fill_defaults(inner)
        return value
    if isinstance(value, list):
        for index, inner in enumerate(value):
            value[index] = fill_defaults(inner)
        return value
    return input_default(value)


__all__ = ["InputSet", "InputsSource", "apply_input_set", "fill_defaults", "read_input_set"]
