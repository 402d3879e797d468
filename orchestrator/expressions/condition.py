"""Conditions: ``when.condition`` of stages, groups and steps, and the Http step ``assertion``.

Parsed once (at validation, so a malformed condition is reported before anything runs) and
evaluated per run. Grammar and comparison rules: :mod:`orchestrator.expressions.parser` and
:mod:`orchestrator.expressions.values`.
"""

from __future__ import annotations

from functools import lru_cache

from orchestrator.expressions.errors import ConditionSyntaxError, SyntaxProblem
from orchestrator.expressions.evaluate import Evaluator, Names, Resolve
from orchestrator.expressions.nodes import Nested, Node, walk
from orchestrator.expressions.parser import Parser


class Condition:
    """A parsed condition; immutable and safe to share between threads."""

    __slots__ = ("text", "root", "_references")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root
        seen: dict[str, None] = {}
        for node in walk(root):
            if isinstance(node, Nested):
                seen.setdefault(node.body.strip(), None)
        self._references = tuple(seen)

    @property
    def references(self) -> list[str]:
        """Bodies of every ``<+...>`` the condition uses, nested ones too (for prefetching)."""
        return list(self._references)

    def evaluate(self, resolve: Resolve, names: Names | None = None) -> bool:
        """True or False; raises UnresolvedExpression / ConditionValueError when it cannot decide.

        ``&&`` and ``||`` short-circuit, so ``<+a> && <+b>`` does not resolve ``b`` when ``a`` is
        false.
        """
        return Evaluator(resolve, names).test(self.root)

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


@lru_cache(maxsize=2048)
def parse_condition(text: str) -> Condition:
    """Parse a condition; raises :class:`ConditionSyntaxError` naming the position and what was expected."""
    try:
        root = Parser(text, end_label="end of condition").condition()
    except SyntaxProblem as exc:
        raise ConditionSyntaxError(text, exc.position, exc.message) from None
    return Condition(text, root)
