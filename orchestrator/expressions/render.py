"""Render expressions inside text and inside whole spec structures (dicts, lists, strings)."""

from __future__ import annotations

from typing import Any

from orchestrator.expressions.evaluate import Evaluator, Names, Resolve
from orchestrator.expressions.scan import find_expressions


def render_text(text: str, resolve: Resolve, names: Names | None = None) -> str:
    """Replace each ``<+...>`` with its value as text (null, true/false, compact JSON for objects).

    For text that goes into a shell script use :func:`render_shell` instead: plain substitution
    would let a value inject shell syntax.
    """
    return Evaluator(resolve, names).text(text)


def render_value(obj: Any, resolve: Resolve, names: Names | None = None) -> Any:
    """Render every string in a structure; a string that is exactly one expression keeps its type.

    ``"<+pipeline.variables.count>"`` gives the number itself, ``"n=<+...count>"`` gives text.
    Dict keys are not rendered (they are field names of the spec, not values).
    """
    return _render(obj, Evaluator(resolve, names))


def _render(obj: Any, evaluator: Evaluator) -> Any:
    if isinstance(obj, str):
        spans = find_expressions(obj)
        if len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(obj):
            return evaluator.expression(spans[0].body)
        return evaluator.text(obj) if spans else obj
    if isinstance(obj, dict):
        return {key: _render(value, evaluator) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_render(value, evaluator) for value in obj]
    return obj
