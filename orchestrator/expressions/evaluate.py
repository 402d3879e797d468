"""Evaluate parsed expressions against a resolver and local names.

The only ways a value enters an evaluation are ``resolve(reference)`` (the run context), the
``names`` dict (locals such as ``httpResponseBody``) and literals. Values are data: they are
never parsed as expressions again (a step output holding ``<+secrets...>`` stays that text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.expressions.errors import UnresolvedExpression
from orchestrator.expressions.functions import METHOD_TABLE, SUPPORTED, call_function, call_method, navigate
from orchestrator.expressions.nodes import (
    And, Attr, Call, Compare, Lit, Method, Nested, Node, Not, Or, Ref, Template,
)
from orchestrator.expressions.parser import parse_body
from orchestrator.expressions.scan import find_expressions
from orchestrator.expressions.values import compare, to_text, truth

Resolve = Callable[[str], Any]
"""``resolve(reference)``: the value of a dotted reference, or raise :class:`UnresolvedExpression`."""
Names = Mapping[str, Any]


class Evaluator:
    """One evaluation: the resolver and local names, shared by every node."""

    def __init__(self, resolve: Resolve, names: Names | None = None) -> None:
        self.resolve = resolve
        self.names = names or {}

    def value(self, node: Node) -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Ref):
            head = node.segments[0]
            if isinstance(head, str) and head in self.names:
                return navigate(self.names[head], node.segments[1:])
            return self.resolve(node.text)
        if isinstance(node, Nested):
            return self.value(node.node)
        if isinstance(node, Template):
            return self.text(node.text)
        if isinstance(node, Attr):
            return navigate(self.value(node.target), [node.key])
        if isinstance(node, Call):
            return call_function(node.name, [self.value(a) for a in node.args], node.src or node.name)
        if isinstance(node, Method):
            if node.name not in METHOD_TABLE:
                raise UnresolvedExpression(
                    node.src, f"function or method .{node.name}() is not supported (supported: {SUPPORTED})")
            return call_method(self.value(node.target), node.name, [self.value(a) for a in node.args], node.src)
        return self.test(node)

    def test(self, node: Node) -> bool:
        """A node used as a boolean; ``&&`` and ``||`` short-circuit left to right."""
        if isinstance(node, Or):
            return any(self.test(item) for item in node.items)
        if isinstance(node, And):
            return all(self.test(item) for item in node.items)
        if isinstance(node, Not):
            return not self.test(node.item)
        if isinstance(node, Compare):
            return compare(node.op, self.value(node.left), self.value(node.right))
        return truth(self.value(node), node.src or "the condition")

    def text(self, text: str) -> str:
        """``text`` with every expression replaced by its value as text."""
        spans = find_expressions(text)
        if not spans:
            return text
        out: list[str] = []
        pos = 0
        for span in spans:
            out.append(text[pos : span.start])
            out.append(to_text(self.expression(span.body)))
            pos = span.end
        out.append(text[pos:])
        return "".join(out)

    def expression(self, body: str) -> Any:
        return self.value(parse_body(body))


def evaluate_expression(body: str, resolve: Resolve, names: Names | None = None) -> Any:
    """The value of one expression body (the text between ``<+`` and ``>``).

    Raises :class:`UnresolvedExpression` (or its subclass :class:`ExpressionSyntaxError`) when
    the body is malformed, refers to something unknown or calls an unsupported function.
    """
    return Evaluator(resolve, names).expression(body)
