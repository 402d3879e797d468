"""Exceptions of the expression language.

Every error derives from :class:`ExpressionError` so a step executor can fail a step with one
``except`` clause; the subclasses say what went wrong (unknown value, bad condition syntax, a value
that may not be placed where the script puts it).
"""

from __future__ import annotations


class ExpressionError(Exception):
    """Base class: an expression could not be parsed, evaluated or placed."""


class SyntaxProblem(Exception):
    """Internal: a syntax error at an absolute position; public functions re-raise their own type."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


class UnresolvedExpression(ExpressionError):
    """An expression has no value here (unknown reference, unsupported function, bad JSON...).

    ``body`` is the expression text between ``<+`` and ``>`` (or the bare reference), ``reason``
    says why, so a step failure names exactly which expression and what is missing.
    """

    def __init__(self, body: str, reason: str = "unknown reference") -> None:
        self.body = body
        self.reason = reason
        super().__init__(f"cannot resolve <+{body}>: {reason}")


class ExpressionSyntaxError(UnresolvedExpression):
    """The text between ``<+`` and ``>`` is not valid expression syntax.

    A subclass of :class:`UnresolvedExpression` because, to a running step, a malformed
    expression is one more expression without a value.
    """

    def __init__(self, body: str, position: int, message: str) -> None:
        self.position = position
        self.message = message
        super().__init__(body, f"syntax error at position {position}: {message}")


class ConditionSyntaxError(ExpressionError, ValueError):
    """A ``when.condition`` or Http ``assertion`` is malformed.

    Raised at parse time (validation), naming the position in the condition text and what the
    parser expected there, so the YAML can be fixed before anything runs.
    """

    def __init__(self, text: str, position: int, message: str) -> None:
        self.text = text
        self.position = position
        self.message = message
        pointer = f"{text}\n{' ' * position}^" if "\n" not in text and len(text) <= 200 else text[:200]
        super().__init__(f"invalid condition at position {position}: {message}\n{pointer}")


class ConditionValueError(ExpressionError):
    """A condition operand used as a boolean has a value that is not a boolean (e.g. ``"abc"``)."""


class UnsafeShellValue(UnresolvedExpression):
    """A value cannot be placed where the script uses it without letting it run code.

    Raised for non-integer values in Bash arithmetic contexts (``$(( ))``, ``(( ))``, array
    subscripts, ``[[ -eq ]]``), where Bash would evaluate text such as ``a[$(cmd)]``, and for
    values holding a NUL byte (an environment variable cannot carry one). A subclass of
    :class:`UnresolvedExpression`: the expression has no usable value at that place.
    """
