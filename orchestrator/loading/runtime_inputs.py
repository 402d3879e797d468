"""Runtime inputs: ``<+input>``, ``<+input>.default(x)``, ``<+input>.allowedValues(a,b)``.

A field whose value is a runtime input is filled from the run's input set; an unfilled one
takes its default, and one with neither stays unset (an error for fields a run needs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.model import is_runtime_input

PREFIX = "<+input>"


@dataclass(frozen=True)
class RuntimeInput:
    default: str | None = None
    allowed: tuple[str, ...] | None = None
    """None when not restricted (or restricted by a dynamic ``jexl(...)`` expression we do not evaluate)."""

    @property
    def has_default(self) -> bool:
        return self.default is not None


def parse_runtime_input(value: Any) -> RuntimeInput | None:
    """The runtime input described by ``value``, or None if ``value`` is not one."""
    if not is_runtime_input(value):
        return None
    text = value.strip()[len(PREFIX):]
    default: str | None = None
    allowed: tuple[str, ...] | None = None
    for name, argument in _calls(text):
        if name == "default":
            default = _unquote(argument.strip())
        elif name == "allowedValues" and not argument.strip().startswith("jexl("):
            allowed = tuple(_unquote(a) for a in _split_arguments(_unbracket(argument.strip())))
    return RuntimeInput(default=default, allowed=allowed)


def input_default(value: Any) -> Any:
    """``<+input>.default(x)`` -> ``'x'``; anything else is returned unchanged."""
    spec = parse_runtime_input(value)
    return spec.default if spec is not None and spec.has_default else value


def is_unfilled(value: Any) -> bool:
    """A runtime input with no default: nothing will give it a value at run time."""
    spec = parse_runtime_input(value)
    return spec is not None and not spec.has_default


def allows(spec: RuntimeInput, value: Any) -> bool:
    if spec.allowed is None:
        return True
    return _as_text(value) in spec.allowed


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _calls(text: str) -> list[tuple[str, str]]:
    """``.default(a).allowedValues(b,c)`` -> [('default', 'a'), ('allowedValues', 'b,c')]."""
    calls = []
    i = 0
    while i < len(text) and text[i] == ".":
        open_at = text.find("(", i)
        if open_at < 0:
            break
        name = text[i + 1 : open_at]
        depth, j = 1, open_at + 1
        quote: str | None = None
        while j < len(text) and depth:
            ch = text[j]
            if quote:
                quote = None if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            j += 1
        calls.append((name, text[open_at + 1 : j - 1]))
        i = j
    return calls


def _split_arguments(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _unbracket(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == "[" and text[-1] == "]" else text


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
