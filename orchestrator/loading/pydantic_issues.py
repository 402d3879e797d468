"""Turn pydantic's ValidationError into issues a YAML author can act on.

Pydantic's ``loc`` mixes real keys with union tag names ('stage', 'list', 'constrained-str',
action types); walking the actual data and skipping what is not there gives the YAML path.
Messages are rewritten in YAML terms ("expected a list, got a mapping").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from orchestrator.loading.issues import Issue
from orchestrator.loading.origin import SourceMap
from orchestrator.loading.paths import YamlPath

_EXPECTED = {
    "string": "text",
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list",
    "tuple": "a list",
    "set": "a list",
    "dict": "a mapping (key: value)",
    "model": "a mapping (key: value)",
    "model_attributes": "a mapping (key: value)",
    "dataclass": "a mapping (key: value)",
}


def data_path(data: Any, loc: tuple[Any, ...], base: YamlPath = (), missing: bool = False) -> YamlPath:
    """The YAML path of a pydantic ``loc``: keep the parts that are keys/indices in ``data``."""
    path = list(base)
    current = data
    last_skipped: Any = None
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            current = current[part]
            path.append(part)
            last_skipped = None
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
            last_skipped = None
        else:
            last_skipped = part
    if missing and isinstance(last_skipped, str):
        path.append(last_skipped)
    return tuple(path)


def describe(value: Any) -> str:
    """A short YAML-ish description of a value for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    return repr(value)


def _tags(text: str) -> str:
    return ", ".join(t.strip().strip("'") for t in text.replace(" or ", ", ").split(","))


def _convert(err: dict[str, Any], path: YamlPath) -> tuple[str, str, str | None]:
    """(code, message, expectation) for one pydantic error; expectation joins union alternatives."""
    kind: str = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "missing_field", f"missing required key '{path[-1] if path else '?'}'", None
    if kind == "union_tag_invalid":
        what = "action type" if path and path[-1] == "action" else f"{ctx.get('discriminator', 'tag')}".strip("'")
        return "invalid_value", f"unknown {what} '{ctx.get('tag')}'; expected one of {_tags(str(ctx.get('expected_tags', '')))}", None
    if kind == "union_tag_not_found":
        return "missing_field", f"missing required key {ctx.get('discriminator', '')}".rstrip(), None
    if kind == "invalid_element":
        keys = ", ".join(str(k) for k in value) if isinstance(value, dict) else describe(value)
        return "invalid_element", f"{err['msg']}; got {keys or 'an empty mapping'}", None
    if kind == "literal_error":
        expected = _tags(str(ctx.get("expected", "")))
        return "invalid_value", f"invalid value {describe(value)}; expected one of {expected}", f"one of {expected}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error") or err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        message = message.strip().splitlines()[0] if message.strip() else kind
        if message.startswith("invalid duration"):
            return "invalid_duration", message, None
        if message.startswith("invalid identifier"):
            return "invalid_identifier", message, None
        return "invalid_value", message, None
    if kind == "too_short":
        minimum = ctx.get("min_length", 1)
        return "invalid_value", "must not be empty" if minimum == 1 else f"needs at least {minimum} items", None
    if kind == "too_long":
        return "invalid_value", f"may have at most {ctx.get('max_length')} items", None
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        return "invalid_value", f"must be {bounds[kind]} {limit}, got {describe(value)}", None
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        expectation = "a runtime input (<+input>)" if pattern.startswith("^<\\+input>") else f"text matching {pattern}"
        return "invalid_value", f"expected {expectation}, got {describe(value)}", expectation
    if kind == "string_type" and tuple(err.get("loc", ()))[-1:] == ("constrained-str",):
        # the model's only pattern-constrained text is RuntimeInputText (``^<\+input>``)
        expectation = "a runtime input (<+input>)"
        return "wrong_type", f"expected {expectation}, got {describe(value)}", expectation
    if kind == "int_from_float":
        return "wrong_type", f"expected a whole number, got {describe(value)}", "a whole number"
    for suffix in ("_type", "_parsing"):
        if kind.endswith(suffix):
            expectation = _EXPECTED.get(kind.removesuffix(suffix), kind.removesuffix(suffix))
            return "wrong_type", f"expected {expectation}, got {describe(value)}", expectation
    return "invalid_value", err["msg"], None


def validation_issues(
    exc: ValidationError,
    data: Any,
    base: YamlPath,
    source: SourceMap,
    *,
    code_for: Callable[[YamlPath, str], str] | None = None,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> list[Issue]:
    """Issues for every error of ``exc`` raised validating ``data`` (which sits at ``base``).

    Errors that resolve to one path (the alternatives of a union) become one issue.
    ``code_for(path, code)`` may replace a code; ``keep(err)`` may drop an error.
    """
    grouped: dict[YamlPath, list[tuple[str, str, str | None, Any]]] = {}
    for err in exc.errors():
        if keep is not None and not keep(err):
            continue
        path = data_path(data, tuple(err["loc"]), base, missing=err["type"] == "missing")
        code, message, expectation = _convert(err, path)
        grouped.setdefault(path, []).append((code, message, expectation, err.get("input")))
    issues = []
    for path, found in grouped.items():
        code, message, _, value = found[0]
        expectations = [e for _, _, e, _ in found if e]
        if len(found) > 1 and len(expectations) == len(found):
            unique = list(dict.fromkeys(expectations))
            message = f"expected {' or '.join(unique)}, got {describe(value)}"
        if code_for is not None:
            code = code_for(path, code)
        issues.append(source.issue(path, code, message))
    return issues
