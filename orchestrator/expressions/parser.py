"""Recursive-descent parser for expression bodies and conditions.

Body grammar (what may stand between ``<+`` and ``>``)::

    value     := primary postfix*
    primary   := path | path '(' args ')' | STRING | NUMBER | true | false | null | '<+' value '>'
    path      := IDENT ('.' IDENT | '[' (INT | STRING) ']')*
    postfix   := '.' IDENT | '[' (INT | STRING) ']' | '.' IDENT '(' args ')'
    args      := [value (',' value)*]

A path directly followed by ``(`` is a function call when its dotted name is a known function
(``json.select``); otherwise the last name is a method on the rest (``<+x.contains("a")>``).

Condition grammar (``when.condition``, Http ``assertion``)::

    condition  := or END
    or         := and ('||' and)*
    and        := unary ('&&' unary)*
    unary      := '!' unary | comparison
    comparison := operand [('==' | '!=' | '<' | '>' | '<=' | '>=') operand]
    operand    := '(' or ')' | value

``!`` binds looser than a comparison: ``!<+a> == 1`` means ``!(<+a> == 1)``.
"""

from __future__ import annotations

from functools import lru_cache

from orchestrator.expressions.errors import ExpressionSyntaxError, SyntaxProblem
from orchestrator.expressions.lexer import Token, describe, tokenize
from orchestrator.expressions.nodes import (
    And, Attr, Call, Compare, Lit, Method, Nested, Node, Not, Or, Ref, Segment, Template, segments_text,
)

FUNCTIONS = frozenset({"json.select", "json.object", "json.list"})
KEYWORDS = {"true": True, "false": False, "null": None}
COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">="})
OPERAND = "an operand (a string, number, true/false/null, <+expression> or name)"


class Parser:
    def __init__(self, text: str, start: int = 0, end: int | None = None, end_label: str = "end of input") -> None:
        self.text = text
        self.source = tokenize(text, start, end)
        self.tokens: list[Token] = []
        self.i = 0
        self.end_label = end_label

    # -- token helpers ---------------------------------------------------------------------
    def _token(self, index: int) -> Token:
        while len(self.tokens) <= index and (not self.tokens or self.tokens[-1].kind != "end"):
            self.tokens.append(next(self.source))
        return self.tokens[min(index, len(self.tokens) - 1)]

    @property
    def tok(self) -> Token:
        return self._token(self.i)

    def peek(self, ahead: int = 1) -> Token:
        return self._token(self.i + ahead)

    def describe(self, token: Token) -> str:
        return describe(token, self.end_label)

    def at(self, kind: str, value: object = None) -> bool:
        return self.tok.kind == kind and (value is None or self.tok.value == value)

    def take(self) -> Token:
        token = self.tok
        if token.kind != "end":
            self.i += 1
        return token

    def expect(self, kind: str, value: object, what: str) -> Token:
        if not self.at(kind, value):
            self.fail(f"expected {what} but found {self.describe(self.tok)}")
        return self.take()

    def fail(self, message: str, position: int | None = None) -> None:
        raise SyntaxProblem(self.tok.start if position is None else position, message)

    def src(self, start: int) -> str:
        end = self.tokens[self.i - 1].end if self.i else start
        return self.text[start:end]

    # -- values ----------------------------------------------------------------------------
    def value(self) -> Node:
        start = self.tok.start
        node = self.primary()
        while True:
            if self.at("punct", "."):
                self.take()
                name = self.expect("ident", None, "a name after '.'").value
                assert isinstance(name, str)
                if self.at("punct", "("):
                    node = Method(node, name, self.args(), self.src(start))
                else:
                    node = Attr(node, name, self.src(start))
            elif self.at("punct", "["):
                node = Attr(node, self.index(), self.src(start))
            else:
                return node

    def primary(self) -> Node:
        token = self.tok
        if token.kind == "ident":
            if token.value in KEYWORDS:
                self.take()
                return Lit(KEYWORDS[str(token.value)], token.raw)
            return self.path()
        if token.kind == "string":
            self.take()
            text = str(token.value)
            return Template(text, token.raw) if "<+" in text else Lit(text, token.raw)
        if token.kind == "number":
            self.take()
            return Lit(token.value, token.raw)
        if token.kind == "expr":
            self.take()
            body_start, body_end = token.value  # type: ignore[misc]
            inner = Parser(self.text, body_start, body_end, "the end of the expression ('>')")
            node = inner.value()
            if not inner.at("end"):
                inner.fail(f"expected '>' to close the expression but found {inner.describe(inner.tok)}")
            return Nested(node, self.text[body_start:body_end], token.raw)
        self.fail(f"expected {OPERAND} but found {self.describe(token)}")
        raise AssertionError  # unreachable

    def path(self) -> Node:
        start = self.tok.start
        segments: list[Segment] = [str(self.take().value)]
        while True:
            if self.at("punct", ".") and self.peek().kind == "ident":
                name = str(self.peek().value)
                if self.peek(2).kind == "punct" and self.peek(2).value == "(":
                    dotted = ".".join(str(s) for s in segments) + "." + name
                    if all(isinstance(s, str) for s in segments) and dotted in FUNCTIONS:
                        self.take(), self.take()
                        return Call(dotted, self.args(), self.src(start))
                    break  # a method on the path so far
                self.take(), self.take()
                segments.append(name)
            elif self.at("punct", "["):
                segments.append(self.index())
            else:
                break
        if self.at("punct", "(") and len(segments) == 1:
            return Call(str(segments[0]), self.args(), self.src(start))
        seg = tuple(segments)
        return Ref(seg, segments_text(seg), self.src(start))

    def index(self) -> Segment:
        self.expect("punct", "[", "'['")
        token = self.tok
        if token.kind == "number" and isinstance(token.value, int) and token.value >= 0:
            key: Segment = token.value
        elif token.kind == "string":
            key = str(token.value)
        else:
            self.fail(f"expected a list index or a quoted key inside [...] but found {self.describe(token)}")
        self.take()
        self.expect("punct", "]", "']'")
        return key

    def args(self) -> tuple[Node, ...]:
        self.expect("punct", "(", "'('")
        out: list[Node] = []
        if not self.at("punct", ")"):
            out.append(self.value())
            while self.at("punct", ","):
                self.take()
                out.append(self.value())
        self.expect("punct", ")", "',' or ')'")
        return tuple(out)

    # -- conditions ------------------------------------------------------------------------
    def condition(self) -> Node:
        node = self.or_()
        if not self.at("end"):
            self.fail(f"expected '&&', '||' or end of condition but found {self.describe(self.tok)}")
        return node

    def or_(self) -> Node:
        start = self.tok.start
        items = [self.and_()]
        while self.at("op", "||"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items), self.src(start))

    def and_(self) -> Node:
        start = self.tok.start
        items = [self.unary()]
        while self.at("op", "&&"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items), self.src(start))

    def unary(self) -> Node:
        start = self.tok.start
        if self.at("op", "!"):
            self.take()
            item = self.unary()
            return Not(item, self.src(start))
        return self.comparison()

    def comparison(self) -> Node:
        start = self.tok.start
        left = self.operand()
        if self.tok.kind == "op" and self.tok.value in COMPARISONS:
            op = str(self.take().value)
            right = self.operand()
            return Compare(op, left, right, self.src(start))
        return left

    def operand(self) -> Node:
        if self.at("punct", "("):
            opened = self.take()
            node = self.or_()
            if not self.at("punct", ")"):
                self.fail(f"expected ')' to close '(' at position {opened.start} but found {self.describe(self.tok)}")
            self.take()
            return node
        return self.value()


@lru_cache(maxsize=4096)
def parse_body(body: str) -> Node:
    """Parse the text between ``<+`` and ``>``; raises :class:`ExpressionSyntaxError`."""
    try:
        parser = Parser(body, end_label="end of expression")
        node = parser.value()
        if not parser.at("end"):
            parser.fail(f"unexpected {parser.describe(parser.tok)} after the expression"
                        " (arithmetic, operators and other JEXL syntax are not supported)")
    except SyntaxProblem as exc:
        raise ExpressionSyntaxError(body, exc.position, exc.message) from None
    return node


def parse_reference(text: str) -> tuple[Segment, ...]:
    """Segments of a reference such as ``pipeline.stages.s1.status`` or ``output.list[0].name``."""
    node = parse_body(text)
    if not isinstance(node, Ref):
        raise ExpressionSyntaxError(text, 0, "expected a dotted reference such as pipeline.variables.x")
    return node.segments
