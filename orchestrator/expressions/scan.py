"""Find ``<+ ... >`` expressions in text.

Expressions nest (``<+json.list("$", <+stage.variables.urls>)>``) and may hold quoted strings in
which ``>`` does not close anything (``<+json.select("a>b", x)>``). Text outside expressions is
never interpreted: quotes in a shell script around an expression are the script's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.expressions.errors import ExpressionSyntaxError, SyntaxProblem

OPEN = "<+"


@dataclass(frozen=True)
class Span:
    """One top-level expression: ``text[start:end] == "<+" + body + ">"``."""

    start: int
    end: int
    body: str


def expression_end(text: str, start: int, limit: int | None = None) -> int:
    """Index just after the ``>`` closing the expression that opens at ``start``.

    Iterative (a stack, not recursion) so that hostile nesting cannot exhaust the Python stack.
    Raises :class:`SyntaxProblem` (absolute position) for an unterminated expression or string.
    """
    if not text.startswith(OPEN, start):
        raise ValueError(f"no expression starts at {start}")
    n = len(text) if limit is None else limit
    stack: list[tuple[str, int]] = [("<", start)]  # "<" = inside an expression, a quote = in a string
    i = start + 2
    while i < n:
        c = text[i]
        mode = stack[-1][0]
        if text.startswith(OPEN, i) and i + 1 < n:
            stack.append(("<", i))
            i += 2
            continue
        if mode == "<":
            if c in "\"'":
                stack.append((c, i))
            elif c == ">":
                stack.pop()
                if not stack:
                    return i + 1
        elif c == "\\":
            i += 1  # the escaped character cannot close the string
        elif c == mode:
            stack.pop()
        i += 1
    kind, where = stack[-1]
    if kind == "<":
        raise SyntaxProblem(where, "expression opened here is never closed by '>'")
    raise SyntaxProblem(where, f"string opened here is never closed by {kind}")


def string_end(text: str, start: int, limit: int | None = None) -> int:
    """Index just after the quote closing the string literal opening at ``start``.

    Expressions inside the string are skipped whole, so their own quotes do not end it.
    """
    n = len(text) if limit is None else limit
    quote, i = text[start], start + 1
    while i < n:
        if text.startswith(OPEN, i) and i + 1 < n:
            i = expression_end(text, i, n)
            continue
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        i += 1
    raise SyntaxProblem(start, f"string opened here is never closed by {quote}")


def find_expressions(text: str) -> list[Span]:
    """Every top-level ``<+ ... >`` in ``text``, in order (nested ones are part of their parent).

    Raises :class:`ExpressionSyntaxError` if an expression is opened and never closed: silently
    leaving ``<+`` in a script or a URL would hide the mistake until much later.
    """
    spans: list[Span] = []
    i = text.find(OPEN)
    while i >= 0:
        try:
            end = expression_end(text, i)
        except SyntaxProblem as exc:
            raise ExpressionSyntaxError(text[i + 2 :], exc.position - i, exc.message) from None
        spans.append(Span(i, end, text[i + 2 : end - 1]))
        i = text.find(OPEN, end)
    return spans
