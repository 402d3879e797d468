"""Tokenizer shared by expression bodies and conditions.

Hand-written (no ``eval``, no ``ast``): the user's text is only ever split into these tokens.
Positions are absolute in the text being tokenized, so errors in a nested expression point at the
right character of the whole condition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from orchestrator.expressions.errors import SyntaxProblem
from orchestrator.expressions.scan import OPEN, expression_end, string_end

IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?(?![A-Za-z0-9_.])")
TWO_CHAR_OPS = ("==", "!=", "<=", ">=", "&&", "||")
ONE_CHAR_OPS = "<>!"
PUNCT = ".,()[]"
ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class Token:
    kind: str
    """ident, number, string, expr, op, punct or end."""
    value: object
    start: int
    end: int
    raw: str = ""


def describe(token: Token, end: str = "end of input") -> str:
    """How a token is named in an error message (``end`` names the end of the text)."""
    if token.kind == "end":
        return end
    if token.kind == "expr":
        return "an expression <+...>"
    return repr(token.raw)


def tokenize(text: str, start: int = 0, end: int | None = None) -> Iterator[Token]:
    """Tokens of ``text[start:end]``, ending with an ``end`` token.

    A generator: the parser pulls tokens as it goes, so the first error reported is the first
    one a reader meets, not a lexical error further right.
    """
    end = len(text) if end is None else end
    tokens: list[Token] = []  # what was produced so far (for the sign of a number)
    i = start
    while i < end:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith(OPEN, i):
            stop = expression_end(text, i, end)
            tokens.append(Token("expr", (i + 2, stop - 1), i, stop, text[i:stop]))
            yield tokens[-1]
            i = stop
            continue
        if c in "\"'":
            stop = string_end(text, i, end)
            tokens.append(Token("string", unescape(text[i + 1 : stop - 1]), i, stop, text[i:stop]))
            yield tokens[-1]
            i = stop
            continue
        match = NUMBER_RE.match(text, i, end)
        if match and (c != "-" or not tokens or tokens[-1].kind in ("op", "punct")):
            raw = match.group()
            value: object = float(raw) if "." in raw else int(raw)
            tokens.append(Token("number", value, i, match.end(), raw))
            yield tokens[-1]
            i = match.end()
            continue
        match = IDENT_RE.match(text, i, end)
        if match:
            tokens.append(Token("ident", match.group(), i, match.end(), match.group()))
            yield tokens[-1]
            i = match.end()
            continue
        two = text[i : i + 2] if i + 2 <= end else ""
        if two in TWO_CHAR_OPS:
            tokens.append(Token("op", two, i, i + 2, two))
            yield tokens[-1]
            i += 2
            continue
        if c in ONE_CHAR_OPS:
            tokens.append(Token("op", c, i, i + 1, c))
            yield tokens[-1]
            i += 1
            continue
        if c in PUNCT:
            tokens.append(Token("punct", c, i, i + 1, c))
            yield tokens[-1]
            i += 1
            continue
        hint = {"=": " (compare with '==')", "&": " (use '&&')", "|": " (use '||')"}.get(c, "")
        raise SyntaxProblem(i, f"unexpected character {c!r}{hint}")
    yield Token("end", None, end, end, "")


def unescape(raw: str) -> str:
    r"""Content of a string literal: ``\n``, ``\t``, ``\r``; any other ``\x`` is ``x``.

    Expressions inside the string are copied verbatim (their own quotes are theirs), to be
    rendered when the string is evaluated.
    """
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        if raw.startswith(OPEN, i):
            stop = expression_end(raw, i)
            out.append(raw[i:stop])
            i = stop
            continue
        c = raw[i]
        if c == "\\" and i + 1 < n:
            out.append(ESCAPES.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
