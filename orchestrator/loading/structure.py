"""Walk the raw pipeline data: every stage, step group and step with its path and node key.

Validation runs on the raw data (not only on a successfully built model) so that one pass can
report problems everywhere, even when pydantic rejected some other part of the file. The walk
is defensive: anything of the wrong shape is skipped here because pydantic reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.loading.paths import YamlPath
from orchestrator.model.common import IDENTIFIER_RE

ElementKind = Literal["stage", "group", "step"]


@dataclass(frozen=True)
class Element:
    kind: ElementKind
    path: YamlPath
    """Path of the element's body, e.g. ``('pipeline', 'stages', 0, 'stage')``."""
    body: dict[str, Any]
    parent_key: str
    """Node key of the container it runs in ('' for stages)."""
    stage_key: str | None
    in_rollback: bool
    """Inside a ``rollbackSteps`` section (its own or an enclosing group's)."""

    @property
    def identifier(self) -> str | None:
        value = self.body.get("identifier")
        return value if isinstance(value, str) and IDENTIFIER_RE.match(value) else None

    @property
    def key(self) -> str | None:
        """The plan's node key (``stage.group.step``), None if the identifier is invalid."""
        if self.identifier is None:
            return None
        return f"{self.parent_key}.{self.identifier}" if self.parent_key else self.identifier


@dataclass(frozen=True)
class RollbackSection:
    key: str
    path: YamlPath
    owner: Element


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def walk(data: Any) -> Iterator[Element | RollbackSection]:
    """Every element in execution order (rollback sections after what they belong to)."""
    pipeline = _dict(_dict(data).get("pipeline"))
    for index, item in enumerate(_list(pipeline.get("stages"))):
        item = _dict(item)
        at = ("pipeline", "stages", index)
        if isinstance(item.get("stage"), dict):
            yield from _stage(item["stage"], (*at, "stage"))
        for inner, entry in enumerate(_list(item.get("parallel"))):
            entry = _dict(entry)
            if isinstance(entry.get("stage"), dict):
                yield from _stage(entry["stage"], (*at, "parallel", inner, "stage"))


def elements(data: Any) -> list[Element]:
    return [e for e in walk(data) if isinstance(e, Element)]


def _stage(body: dict[str, Any], path: YamlPath) -> Iterator[Element | RollbackSection]:
    stage = Element("stage", path, body, "", None, False)
    yield stage
    key = stage.key
    if key is None:
        return
    execution = _dict(_dict(body.get("spec")).get("execution"))
    exec_path = (*path, "spec", "execution")
    yield from _items(execution.get("steps"), (*exec_path, "steps"), key, key, False)
    if _list(execution.get("rollbackSteps")):
        yield RollbackSection(f"{key}.rollback", (*exec_path, "rollbackSteps"), stage)
        yield from _items(execution["rollbackSteps"], (*exec_path, "rollbackSteps"), f"{key}.rollback", key, True)


def _items(items: Any, path: YamlPath, parent: str, stage: str, in_rollback: bool) -> Iterator[Element | RollbackSection]:
    for index, item in enumerate(_list(items)):
        item = _dict(item)
        at = (*path, index)
        if isinstance(item.get("step"), dict):
            yield Element("step", (*at, "step"), item["step"], parent, stage, in_rollback)
        elif isinstance(item.get("stepGroup"), dict):
            yield from _group(item["stepGroup"], (*at, "stepGroup"), parent, stage, in_rollback)
        elif isinstance(item.get("parallel"), list):
            yield from _items(item["parallel"], (*at, "parallel"), parent, stage, in_rollback)


def _group(body: dict[str, Any], path: YamlPath, parent: str, stage: str, in_rollback: bool) -> Iterator[Element | RollbackSection]:
    group = Element("group", path, body, parent, stage, in_rollback)
    yield group
    key = group.key
    if key is None:
        return
    yield from _items(body.get("steps"), (*path, "steps"), key, stage, in_rollback)
    if _list(body.get("rollbackSteps")):
        yield RollbackSection(f"{key}.rollback", (*path, "rollbackSteps"), group)
        yield from _items(body["rollbackSteps"], (*path, "rollbackSteps"), f"{key}.rollback", stage, True)
