"""How values become text, numbers and booleans, and how conditions compare them.

Rules (also in docs/expressions.md):

* text: ``None`` -> ``null``, booleans -> ``true``/``false``, dicts and lists -> compact JSON,
  numbers as written, strings unchanged;
* ``==``/``!=``: a boolean against a boolean or a ``"true"``/``"false"`` string (any case) compares
  as booleans; otherwise if both sides look numeric (``200``, ``"200"``, ``"-1.5"``) they compare
  as numbers (``"1.0" == 1``); otherwise the texts compare (so ``null == "null"``);
* ``<``, ``>``, ``<=``, ``>=``: numbers if both sides look numeric, else texts lexicographically;
* a value used as a boolean must be a boolean, a ``"true"``/``"false"`` string (any case), or
  null/empty (false); anything else is an error rather than a guess.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from orchestrator.expressions.errors import ConditionValueError

NUMERIC_RE = re.compile(r"\s*[+-]?\d+(\.\d+)?\s*")
BOOL_TEXT = {"true": True, "false": False}


def to_text(value: Any) -> str:
    """The text a value renders as in a string, a script or a comparison."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return json.dumps(value) if math.isfinite(value) else str(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


def as_number(value: Any) -> Decimal | None:
    """The value as an exact number if it is one or is text that looks like one, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and NUMERIC_RE.fullmatch(value):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return None
    return None


def boolean_of(value: Any) -> bool | None:
    """True/False for a boolean or a ``"true"``/``"false"`` string (any case), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return BOOL_TEXT.get(value.strip().lower())
    return None


def truth(value: Any, what: str) -> bool:
    """A value used as a boolean test (``<+a> && <+b>``); ``what`` names it in the error."""
    result = boolean_of(value)
    if result is not None:
        return result
    if value is None or value == "" or value == "null":
        return False
    raise ConditionValueError(
        f"{what} is {to_text(value)!r}, which is not a boolean: compare it (e.g. {what} == \"...\")"
        " or make it true/false"
    )


def compare(op: str, left: Any, right: Any) -> bool:
    """Apply a comparison operator with the documented coercions."""
    if op in ("==", "!="):
        lb, rb = boolean_of(left), boolean_of(right)
        if (isinstance(left, bool) or isinstance(right, bool)) and lb is not None and rb is not None:
            equal = lb == rb
        else:
            ln, rn = as_number(left), as_number(right)
            equal = ln == rn if ln is not None and rn is not None else to_text(left) == to_text(right)
        return equal if op == "==" else not equal
    ln, rn = as_number(left), as_number(right)
    a: Any
    b: Any
    a, b = (ln, rn) if ln is not None and rn is not None else (to_text(left), to_text(right))
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    if op == ">=":
        return a >= b
    raise ValueError(f"unknown comparison {op!r}")
