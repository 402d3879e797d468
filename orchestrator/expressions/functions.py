"""The functions and methods an expression may call, and lenient navigation into JSON values.

Only what real Harness files use and this orchestrator can honour: ``json.select``,
``json.object``, ``json.list`` and the string methods ``contains``, ``startsWith``, ``endsWith``,
``split``. Everything else (``secrets.getValue``, ``toLowerCase``, ...) is an unresolved
expression with a message that lists what is supported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.expressions.errors import UnresolvedExpression
from orchestrator.expressions.nodes import Segment
from orchestrator.expressions.values import as_number, to_text

SUPPORTED = ("json.select(path, value), json.object(value), json.list(path, value)"
             " and the methods .contains(x), .startsWith(x), .endsWith(x), .split(sep)")
_PATH_TOKEN_RE = re.compile(r"""\.?([^.\[\]]+)|\[\s*(\d+)\s*\]|\[\s*(['"])(.*?)\3\s*\]""")


def navigate(value: Any, path: Sequence[Segment]) -> Any:
    """Follow keys and indexes into parsed JSON; a missing step gives None (as Harness's null)."""
    for seg in path:
        if isinstance(value, dict):
            value = value.get(seg if isinstance(seg, str) else str(seg))
        elif isinstance(value, (list, tuple)):
            index = seg if isinstance(seg, int) else (int(seg) if str(seg).isdigit() else None)
            value = value[index] if index is not None and index < len(value) else None
        else:
            return None
    return value


def json_path(path: str, where: str) -> list[Segment]:
    """Segments of a json.select path: ``data.content[0].status``, ``$``, ``$.a['b-c']``."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    out: list[Segment] = []
    pos = 0
    while pos < len(text):
        match = _PATH_TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise UnresolvedExpression(where, f"invalid JSON path {path!r} at {text[pos:]!r}")
        name, index, _, quoted = match.groups()
        out.append(int(index) if index is not None else (quoted if quoted is not None else name.strip()))
        pos = match.end()
    return out


def load_json(value: Any, where: str) -> Any:
    """Parse JSON text; values already parsed (dicts, lists, numbers) pass through."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise UnresolvedExpression(where, f"value is not valid JSON ({exc}): {value[:80]!r}") from None


def _arity(name: str, args: Sequence[Any], count: int, where: str) -> None:
    if len(args) != count:
        raise UnresolvedExpression(where, f"{name} takes {count} argument(s), got {len(args)}")


def json_select(args: Sequence[Any], where: str) -> Any:
    _arity("json.select", args, 2, where)
    return navigate(load_json(args[1], where), json_path(to_text(args[0]), where))


def json_object(args: Sequence[Any], where: str) -> Any:
    _arity("json.object", args, 1, where)
    return load_json(args[0], where)


def json_list(args: Sequence[Any], where: str) -> list[Any]:
    """The value at the path as a list: a list as is, null as ``[]``, anything else as ``[value]``."""
    _arity("json.list", args, 2, where)
    found = navigate(load_json(args[1], where), json_path(to_text(args[0]), where))
    if found is None:
        return []
    return list(found) if isinstance(found, (list, tuple)) else [found]


FUNCTION_TABLE: dict[str, Callable[[Sequence[Any], str], Any]] = {
    "json.select": json_select,
    "json.object": json_object,
    "json.list": json_list,
}


def _contains(target: Any, item: Any) -> bool:
    if target is None:
        return False
    if isinstance(target, (list, tuple)):
        number = as_number(item)
        return any(to_text(x) == to_text(item) or (number is not None and as_number(x) == number) for x in target)
    if isinstance(target, dict):
        return to_text(item) in target
    return to_text(item) in to_text(target)


METHOD_TABLE: dict[str, tuple[int, Callable[..., Any]]] = {
    "contains": (1, _contains),
    "startsWith": (1, lambda t, x: t is not None and to_text(t).startswith(to_text(x))),
    "endsWith": (1, lambda t, x: t is not None and to_text(t).endswith(to_text(x))),
    "split": (1, lambda t, sep: to_text(t).split(to_text(sep)) if to_text(sep) else list(to_text(t))),
}


def call_function(name: str, args: Sequence[Any], where: str) -> Any:
    function = FUNCTION_TABLE.get(name)
    if function is None:
        raise UnresolvedExpression(where, f"function {name}() is not supported (supported: {SUPPORTED})")
    return function(args, where)


def call_method(target: Any, name: str, args: Sequence[Any], where: str) -> Any:
    count, method = METHOD_TABLE[name]
    if len(args) != count:
        raise UnresolvedExpression(where, f".{name}() takes {count} argument(s), got {len(args)}")
    return method(target, *args)
