"""Syntax tree of expression bodies and conditions.

Nodes are frozen and hold tuples so that a parsed body can be cached and shared between threads
and evaluations. ``src`` is the node's source text, used in error messages only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

Segment = Union[str, int]
"""One step of a reference path: a key (``variables``) or a list index (``[0]``)."""


@dataclass(frozen=True)
class Lit:
    """A literal: string, integer, decimal, ``true``, ``false`` or ``null``."""

    value: object
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Template:
    """A string literal holding expressions (``"<+matrix.env>.<+matrix.infra>"``): rendered as text."""

    text: str
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Ref:
    """A dotted reference (``pipeline.variables.x``) or a local name (``httpResponseBody``).

    ``text`` is the canonical spelling handed to the resolver.
    """

    segments: tuple[Segment, ...]
    text: str
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Nested:
    """An expression inside an expression or a condition: ``<+ body >``."""

    node: "Node"
    body: str
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Call:
    """A function call by dotted name (``json.select(...)``)."""

    name: str
    args: tuple["Node", ...]
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Method:
    """A method call on a value (``<+x>.contains("a")``)."""

    target: "Node"
    name: str
    args: tuple["Node", ...]
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Attr:
    """Navigation into a value: ``.key`` or ``[index]`` after a call or a nested expression."""

    target: "Node"
    key: Segment
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Compare:
    op: str
    left: "Node"
    right: "Node"
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Not:
    item: "Node"
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]
    src: str = field(default="", compare=False)


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]
    src: str = field(default="", compare=False)


Node = Union[Lit, Template, Ref, Nested, Call, Method, Attr, Compare, Not, And, Or]


def children(node: Node) -> tuple[Node, ...]:
    """Direct sub-nodes (a Template's expressions are not nodes: see ``walk``)."""
    if isinstance(node, Nested):
        return (node.node,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Method):
        return (node.target, *node.args)
    if isinstance(node, Attr):
        return (node.target,)
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Not):
        return (node.item,)
    if isinstance(node, (And, Or)):
        return node.items
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node, depth first, parents before children, including expressions in string templates."""
    from orchestrator.expressions.parser import parse_body
    from orchestrator.expressions.scan import find_expressions

    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Template):
            nested = [Nested(parse_body(s.body), s.body, current.text[s.start : s.end])
                      for s in find_expressions(current.text)]
            stack.extend(reversed(nested))
        else:
            stack.extend(reversed(children(current)))


def segments_text(segments: tuple[Segment, ...]) -> str:
    """Canonical text of a path: ``a.b[0].c`` (keys that are not identifiers as ``["k"]``)."""
    import json
    import re

    out = ""
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", seg):
            out += f".{seg}" if out else seg
        else:
            out += f"[{json.dumps(seg)}]"
    return out
