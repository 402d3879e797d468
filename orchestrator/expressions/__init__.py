"""Harness-style ``<+...>`` expressions: scanning, evaluation, rendering, conditions.

Hand-written tokenizer and parser: user text is never given to ``eval``/``exec``/``literal_eval``.
The language, its limits and the shell-safety argument are in docs/expressions.md.
"""

from orchestrator.expressions.condition import Condition, parse_condition
from orchestrator.expressions.context import (
    RunContextResolver, output_references, route, status_references,
)
from orchestrator.expressions.errors import (
    ConditionSyntaxError, ConditionValueError, ExpressionError, ExpressionSyntaxError,
    UnresolvedExpression, UnsafeShellValue,
)
from orchestrator.expressions.evaluate import evaluate_expression
from orchestrator.expressions.render import render_text, render_value
from orchestrator.expressions.scan import Span, find_expressions
from orchestrator.expressions.shell import render_shell
from orchestrator.expressions.values import to_text

__all__ = [
    "Condition",
    "ConditionSyntaxError",
    "ConditionValueError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "RunContextResolver",
    "Span",
    "UnresolvedExpression",
    "UnsafeShellValue",
    "evaluate_expression",
    "find_expressions",
    "output_references",
    "parse_condition",
    "render_shell",
    "render_text",
    "render_value",
    "route",
    "status_references",
    "to_text",
]
