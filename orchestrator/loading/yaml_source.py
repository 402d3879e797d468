"""Read YAML with ruamel's round-trip loader so that every key and list item keeps its line.

The result is plain dicts/lists/scalars (what pydantic and JSON want) plus a map from YAML path
to 1-based line. Malformed YAML, duplicate keys and empty files become issues, not exceptions.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from orchestrator.loading.issues import Issue
from orchestrator.loading.paths import YamlPath, format_path


@dataclass
class YamlDocument:
    """A parsed file: plain data and where each path was written."""

    file: str
    data: Any
    lines: dict[YamlPath, int] = field(default_factory=dict)


def read_yaml_file(path: Path | str, label: str | None = None) -> tuple[YamlDocument | None, list[Issue]]:
    """Load ``path``; ``label`` is how the file is named in issues (default: the path as given)."""
    name = label or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, [Issue(name, None, "", "unreadable_file", f"cannot read {name}: {reason}")]
    return parse_yaml_text(text, name)


def parse_yaml_text(text: str, file: str) -> tuple[YamlDocument | None, list[Issue]]:
    """Parse one YAML document from ``text``; issues name ``file``."""
    try:
        raw = _loader().load(text)
    except DuplicateKeyError as exc:
        return None, [_duplicate_key_issue(text, file, exc)]
    except MarkedYAMLError as exc:
        return None, [_syntax_issue(text, file, exc)]
    except YAMLError as exc:  # errors without a position (rare)
        return None, [Issue(file, None, "", "yaml_syntax", f"malformed YAML: {exc}")]
    if raw is None:
        return None, [Issue(file, 1, "", "empty_file", "the file is empty: expected a `pipeline:` document")]
    lines: dict[YamlPath, int] = {(): 1}
    data = _plain(raw, (), lines)
    return YamlDocument(file=file, data=data, lines=lines), []


def _loader(allow_duplicate_keys: bool = False) -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = allow_duplicate_keys
    return yaml


def _plain(node: Any, path: YamlPath, lines: dict[YamlPath, int]) -> Any:
    """Round-trip node -> plain Python, recording the line of every key and item on the way."""
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            key_text = key if isinstance(key, str) else _plain_scalar(key)
            child = (*path, str(key_text))
            position = node.lc.data.get(key)
            if position:
                lines[child] = position[0] + 1
            out[str(key_text)] = _plain(value, child, lines)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*path, index)
            position = node.lc.data.get(index)
            if position:
                lines[child] = position[0] + 1
            items.append(_plain(value, child, lines))
        return items
    return _plain_scalar(node)


def _plain_scalar(value: Any) -> Any:
    if isinstance(value, TaggedScalar):
        return str(value.value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()  # JSON only: a YAML timestamp stays the text it was written as
    return value


def _syntax_issue(text: str, file: str, exc: MarkedYAMLError) -> Issue:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or exc.context or "malformed YAML"
    path, exact = _path_near_line(text, line) if line else ("", False)
    near = "" if exact or not path else f" (after {path})"
    context = ""
    if exc.problem and exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        context = f" ({exc.context.strip()} started on line {exc.context_mark.line + 1})"
    return Issue(file, line, path, "yaml_syntax", f"malformed YAML: {problem}{context}{near}")


_KEY_LINE_RE = re.compile(r"^(\s*(?:-\s+)*)([^\s#:'\"\[\]{}][^:#]*?)\s*:(\s|$)")


def _path_near_line(text: str, line: int) -> tuple[str, bool]:
    """Best guess at the YAML path of a syntax error on ``line``.

    The text above the error is parsed on its own (cutting back a few lines if that fails too).
    If the broken line starts with ``key:``, the path is that key next to the earlier key written
    at the same column (exact=True); otherwise it is the last path written before the line.
    """
    source_lines = text.splitlines()
    broken = source_lines[line - 1] if 0 < line <= len(source_lines) else ""
    match = _KEY_LINE_RE.match(broken)
    for end in range(line - 1, max(line - 40, 0), -1):
        try:
            raw = _loader(allow_duplicate_keys=True).load("\n".join(source_lines[:end]))
        except YAMLError:
            continue
        positions: dict[YamlPath, tuple[int, int]] = {}
        _positions(raw, (), positions)
        if match:
            column = len(match.group(1))
            siblings = [p for p, (n, c) in positions.items() if c == column and n < line and isinstance(p[-1], str)]
            if siblings:
                sibling = max(siblings, key=lambda p: positions[p][0])
                return format_path((*sibling[:-1], match.group(2).strip())), True
        if not positions:
            return "", False
        last_line = max(n for n, _ in positions.values())
        deepest = max((p for p, (n, _) in positions.items() if n == last_line), key=len)
        return format_path(deepest), False
    return "", False


def _positions(node: Any, path: YamlPath, out: dict[YamlPath, tuple[int, int]]) -> None:
    """(line, column) of every key (1-based line, 0-based column) in a round-trip tree."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            child = (*path, str(key))
            position = node.lc.data.get(key)
            if position:
                out[child] = (position[0] + 1, position[1])
            _positions(value, child, out)
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            child = (*path, index)
            position = node.lc.data.get(index)
            if position:
                out[child] = (position[0] + 1, position[1])
            _positions(value, child, out)


def _duplicate_key_issue(text: str, file: str, exc: DuplicateKeyError) -> Issue:
    line = exc.problem_mark.line + 1 if exc.problem_mark else None
    first = exc.context_mark.line + 1 if exc.context_mark else None
    key = _duplicate_key_name(exc)
    path = _duplicate_key_path(text, exc, key)
    where = f" (the mapping starting on line {first} already has it)" if first else ""
    return Issue(file, line, path, "duplicate_key", f"duplicate key '{key}'{where}")


def _duplicate_key_name(exc: DuplicateKeyError) -> str:
    problem = exc.problem or ""
    start = problem.find('"')
    end = problem.find('"', start + 1)
    return problem[start + 1 : end] if 0 <= start < end else "?"


def _duplicate_key_path(text: str, exc: DuplicateKeyError, key: str) -> str:
    """Path of the repeated key: find the mapping that starts where the error's context does."""
    if exc.context_mark is None:
        return ""
    try:
        raw = _loader(allow_duplicate_keys=True).load(text)
    except YAMLError:
        return ""
    target = exc.context_mark.line

    def search(node: Any, path: YamlPath) -> YamlPath | None:
        if isinstance(node, CommentedMap):
            if node.lc.line == target and key in node:
                return (*path, key)
            for k, v in node.items():
                found = search(v, (*path, str(k)))
                if found:
                    return found
        elif isinstance(node, CommentedSeq):
            for i, v in enumerate(node):
                found = search(v, (*path, i))
                if found:
                    return found
        return None

    found = search(raw, ())
    return format_path(found) if found else ""
