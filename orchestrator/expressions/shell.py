"""Shell-safe rendering: expressions in a Bash/sh script become environment variable references.

Textual substitution would let a value such as ``"; rm -rf ~; "`` or ``$(curl evil)`` become
shell syntax. Instead every ``<+...>`` is replaced by a reference to an environment variable
(``ORCH_EXPR_1``) that the executor passes to the process. The shell never parses the result of
a parameter expansion as syntax, so no value can open a quote, end a command or run one.

The renderer tracks the script's quoting state so the reference is spelled right where it
stands: ``"${V}"`` unquoted (no word splitting or globbing), ``${V}`` inside double quotes and
unquoted here-documents, ``'"${V}"'`` inside single quotes (close, insert, reopen) and
``'"${V}"$'`` inside Bash ``$'...'``. Every replacement is quote-balanced in every context, so
even a misjudged context breaks at most the script's output, never its structure.

One place re-parses expansion results: Bash arithmetic (``$(( ))``, ``(( ))``, array subscripts
and ``[[ ... -eq ... ]]``), which evaluates ``a[$(cmd)]``. Expressions there must have integer
values, else :class:`UnsafeShellValue`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.expressions.errors import ExpressionSyntaxError, UnsafeShellValue
from orchestrator.expressions.evaluate import Evaluator, Names, Resolve
from orchestrator.expressions.scan import Span, find_expressions
from orchestrator.expressions.values import to_text

DEFAULT_PREFIX = "ORCH_EXPR_"
INTEGER_RE = re.compile(r"[+-]?[0-9]+")
PLAIN_DELIMITER_RE = re.compile(r"[A-Za-z0-9_.+-]+")
ARITH_TEST_RE = re.compile(r"(?:^|\s)-(?:eq|ne|lt|le|gt|ge)(?:\s|$)")
METACHARS = " \t\n;&|<>()"
CMD_KINDS = ("cmd", "bq", "dbracket")


@dataclass
class _Ctx:
    """One quoting/nesting level of the script."""

    kind: str
    """cmd, bq (backticks), dbracket ([[ ]]), sq, dq, ansi ($'...'), param (${...}), arith, heredoc."""
    closer: str | None = None
    depth: int = 0
    bracket: int = 0
    guarded: bool = False
    """Expressions here are evaluated as Bash arithmetic: integers only."""


@dataclass
class _Heredoc:
    delimiter: str
    strip_tabs: bool
    quoted: bool
    word_chunk: int
    """Index in the output of the delimiter word, rewritten if a quoted body gets expressions."""


@dataclass
class _State:
    stack: list[_Ctx]
    pending: list[_Heredoc] = field(default_factory=list)
    word_start: bool = True

    @property
    def top(self) -> _Ctx:
        return self.stack[-1]

    def push(self, kind: str, **kw: Any) -> None:
        self.stack.append(_Ctx(kind, **kw))

    def pop(self) -> None:
        if len(self.stack) > 1:
            self.stack.pop()


class _ShellRenderer:
    def __init__(self, script: str, evaluator: Evaluator, shell: str, prefix: str) -> None:
        self.s = script
        self.evaluator = evaluator
        self.bash = shell == "bash"
        self.prefix = prefix
        self.spans: dict[int, Span] = {span.start: span for span in find_expressions(script)}
        self.out: list[str] = []
        self.env: dict[str, str] = {}
        self.names: dict[str, str] = {}

    # -- values ----------------------------------------------------------------------------
    def variable(self, span: Span, guarded: bool) -> str:
        """Name of the environment variable holding this expression's value (reused per body)."""
        body = span.body.strip()
        name = self.names.get(body)
        if name is None:
            text = to_text(self.evaluator.expression(span.body))
            if "\x00" in text:
                raise UnsafeShellValue(body, "the value has a NUL byte, which an environment variable cannot hold")
            name = f"{self.prefix}{len(self.names) + 1}"
            self.names[body] = name
            self.env[name] = text
        if guarded and not INTEGER_RE.fullmatch(self.env[name]):
            raise UnsafeShellValue(
                body, "it is used where Bash evaluates arithmetic ($(( )), (( )), an array subscript or"
                f" [[ -eq ]]), where a non-integer value could run commands; got {self.env[name][:60]!r}."
                " Check the value in the script first (e.g. [[ $v =~ ^[0-9]+$ ]])."
            )
        return name

    # -- main loop -------------------------------------------------------------------------
    def render(self) -> tuple[str, dict[str, str]]:
        self.run(0, len(self.s), _Ctx("cmd"), guarded=False)
        return "".join(self.out), self.env

    def run(self, start: int, end: int, base: _Ctx, guarded: bool) -> None:
        """Render ``s[start:end]`` starting in context ``base``."""
        st = _State([base])
        s, i = self.s, start
        while i < end:
            span = self.spans.get(i)
            if span is not None:
                if span.end > end:
                    raise ExpressionSyntaxError(span.body, 0, "expression crosses the end of a here-document")
                self.expression(span, st, guarded)
                i = span.end
                st.word_start = False
                continue
            kind = st.top.kind
            if kind in CMD_KINDS:
                i = self.command_char(i, end, st, guarded)
            elif kind in ("dq", "heredoc"):
                i = self.double_char(i, st)
            elif kind == "sq":
                if s[i] == "'":
                    st.pop()
                self.out.append(s[i])
                i += 1
            elif kind == "ansi":
                i = self.ansi_char(i, st)
            elif kind == "param":
                i = self.param_char(i, st)
            else:
                i = self.arith_char(i, st)

    def expression(self, span: Span, st: _State, guarded: bool) -> None:
        top = st.top
        guarded = guarded or any(c.guarded or (c.kind == "param" and c.bracket > 0) for c in st.stack)
        name = self.variable(span, guarded)
        ref = "${" + name + "}"
        kind = top.kind
        if kind in ("dq", "heredoc", "arith"):
            self.out.append(ref)
        elif kind == "sq":
            self.out.append(f"'\"{ref}\"'")
        elif kind == "ansi":
            self.out.append(f"'\"{ref}\"$'")
        elif kind == "param":
            self.out.append(ref if self.enclosing_quoted(st) else f'"{ref}"')
        else:
            self.out.append(f'"{ref}"')

    @staticmethod
    def enclosing_quoted(st: _State) -> bool:
        for ctx in reversed(st.stack):
            if ctx.kind != "param":
                return ctx.kind in ("dq", "heredoc")
        return False

    # -- contexts --------------------------------------------------------------------------
    def command_char(self, i: int, end: int, st: _State, guarded: bool) -> int:
        s, out, top = self.s, self.out, st.top
        c = s[i]
        if c == "\\":
            if i + 1 in self.spans:
                return i + 1  # `\<+x>`: the backslash would only escape the value's first character
            out.append(s[i : i + 2])
            st.word_start = False
            return i + 2
        if c == "#" and st.word_start:
            stop = s.find("\n", i, end)
            stop = end if stop < 0 else stop
            out.append(s[i:stop])  # a comment: nothing in it runs, expressions stay unevaluated
            return stop
        if c == "\n":
            out.append(c)
            st.word_start = True
            if st.pending:
                return self.heredocs(i + 1, end, st, guarded)
            return i + 1
        if c in " \t;&|>":
            out.append(c)
            st.word_start = True
            return i + 1
        if c == "'":
            st.push("sq")
        elif c == '"':
            st.push("dq")
        elif c == "`":
            if top.kind == "bq":
                st.pop()
            else:
                st.push("bq")
        elif c == "$":
            return self.dollar(i, st)
        elif c == "(":
            if self.bash and st.word_start and s.startswith("((", i) and top.kind != "dbracket":
                st.push("arith", closer="))", guarded=True)
                out.append("((")
                return i + 2
            top.depth += 1
            out.append(c)
            st.word_start = True
            return i + 1
        elif c == ")":
            if top.depth > 0:
                top.depth -= 1
            elif top.closer == ")":
                st.pop()
            out.append(c)
            st.word_start = True
            return i + 1
        elif c == "<":
            if s.startswith("<<<", i):
                out.append("<<<")
                st.word_start = True
                return i + 3
            if s.startswith("<<", i) and i + 1 not in self.spans:
                return self.heredoc_operator(i, end, st)
            out.append(c)
            st.word_start = True
            return i + 1
        elif c == "[" and self.bash and st.word_start and s.startswith("[[", i) and s[i + 2 : i + 3].isspace():
            close = re.compile(r"\s\]\](?=[\s;&|)]|$)").search(s, i + 2, end)
            inner = s[i + 2 : close.start() if close else end]
            st.push("dbracket", guarded=bool(ARITH_TEST_RE.search(inner)))
            out.append("[[")
            return i + 2
        elif c == "]" and top.kind == "dbracket" and st.word_start and s.startswith("]]", i):
            st.pop()
            out.append("]]")
            st.word_start = False
            return i + 2
        out.append(c)
        st.word_start = False
        return i + 1

    def double_char(self, i: int, st: _State) -> int:
        """Inside "..." or an unquoted here-document body."""
        s, out = self.s, self.out
        c = s[i]
        if c == "\\":
            if i + 1 in self.spans:
                out.append("\\\\")  # keep the backslash literal, as text substitution would
                return i + 1
            out.append(s[i : i + 2])
            return i + 2
        if c == '"' and st.top.kind == "dq":
            st.pop()
        elif c == "$":
            return self.dollar(i, st)
        elif c == "`":
            st.push("bq")
        out.append(c)
        return i + 1

    def ansi_char(self, i: int, st: _State) -> int:
        s, out = self.s, self.out
        c = s[i]
        if c == "\\":
            if i + 1 in self.spans:
                out.append("\\\\")
                return i + 1
            out.append(s[i : i + 2])
            return i + 2
        if c == "'":
            st.pop()
        out.append(c)
        return i + 1

    def param_char(self, i: int, st: _State) -> int:
        s, out, top = self.s, self.out, st.top
        c = s[i]
        if c == "\\":
            if i + 1 in self.spans:
                if self.enclosing_quoted(st):
                    out.append("\\\\")
                return i + 1
            out.append(s[i : i + 2])
            return i + 2
        if c == "}":
            if top.depth:
                top.depth -= 1
            else:
                st.pop()
        elif c == "{":
            top.depth += 1
        elif c == "[":
            top.bracket += 1
        elif c == "]":
            top.bracket = max(0, top.bracket - 1)
        elif c == "'" and not self.enclosing_quoted(st):
            st.push("sq")
        elif c == '"':
            st.push("dq")
        elif c == "`":
            st.push("bq")
        elif c == "$":
            return self.dollar(i, st)
        out.append(c)
        return i + 1

    def arith_char(self, i: int, st: _State) -> int:
        s, out, top = self.s, self.out, st.top
        c = s[i]
        if c == "(":
            top.depth += 1
        elif c == ")":
            if top.depth:
                top.depth -= 1
            elif s.startswith("))", i):
                st.pop()
                out.append("))")
                return i + 2
        elif c == "$":
            return self.dollar(i, st)
        elif c == "`":
            st.push("bq")
        elif c == '"':
            st.push("dq")
        elif c == "'":
            st.push("sq")
        out.append(c)
        return i + 1

    def dollar(self, i: int, st: _State) -> int:
        s, out = self.s, self.out
        st.word_start = False
        if s.startswith("$((", i):
            st.push("arith", closer="))", guarded=True)
            out.append("$((")
            return i + 3
        if s.startswith("$(", i):
            st.push("cmd", closer=")")
            out.append("$(")
            st.word_start = True
            return i + 2
        if s.startswith("${", i):
            st.push("param")
            out.append("${")
            return i + 2
        if s.startswith("$'", i) and self.bash and st.top.kind not in ("dq", "heredoc"):
            st.push("ansi")
            out.append("$'")
            return i + 2
        out.append("$")
        return i + 1

    # -- here-documents --------------------------------------------------------------------
    def heredoc_operator(self, i: int, end: int, st: _State) -> int:
        s = self.s
        j = i + 2
        strip = j < end and s[j] == "-"
        if strip:
            j += 1
        while j < end and s[j] in " \t":
            j += 1
        word_start, quoted, delimiter = j, False, []
        while j < end and j not in self.spans and s[j] not in METACHARS:
            c = s[j]
            if c in "'\"":
                close = s.find(c, j + 1, end)
                if close < 0:
                    break
                delimiter.append(s[j + 1 : close])
                quoted, j = True, close + 1
            elif c == "\\" and j + 1 < end:
                delimiter.append(s[j + 1])
                quoted, j = True, j + 2
            else:
                delimiter.append(c)
                j += 1
        self.out.append(s[i:word_start])
        st.word_start = True
        if j == word_start:
            return j
        self.out.append(s[word_start:j])
        st.pending.append(_Heredoc("".join(delimiter), strip, quoted, len(self.out) - 1))
        return j

    def heredocs(self, pos: int, end: int, st: _State, guarded: bool) -> int:
        """Render the bodies of the here-documents opened on the line that just ended."""
        s = self.s
        pending, st.pending = st.pending, []
        for doc in pending:
            body_end, term_end, line = pos, end, pos
            while line < end:
                stop = s.find("\n", line, end)
                stop = end if stop < 0 else stop
                text = s[line:stop]
                if (text.lstrip("\t") if doc.strip_tabs else text) == doc.delimiter:
                    body_end, term_end = line, min(stop + 1, end)
                    break
                line = stop + 1
            else:
                body_end = term_end = end
            if not doc.quoted:
                self.run(pos, body_end, _Ctx("heredoc"), guarded)
            elif any(pos <= start < body_end for start in self.spans):
                self.quoted_heredoc(doc, pos, body_end)
            else:
                self.out.append(s[pos:body_end])
            self.out.append(s[body_end:term_end])
            pos = term_end
        return pos

    def quoted_heredoc(self, doc: _Heredoc, start: int, end: int) -> None:
        """A quoted here-document with expressions becomes an unquoted one with its text escaped.

        A quoted body is never expanded, so no variable reference could work there; unquoted with
        ``\\``, ``$`` and backquotes escaped, the literal text stays exactly the same and the
        references expand (and, as always, their values are not parsed).
        """
        if not PLAIN_DELIMITER_RE.fullmatch(doc.delimiter):
            raise UnsafeShellValue(
                self.s[start:end].strip()[:60],
                f"expressions in a here-document with delimiter {doc.delimiter!r} are not supported;"
                " use a plain delimiter such as EOF")
        self.out[doc.word_chunk] = doc.delimiter
        s, i = self.s, start
        while i < end:
            span = self.spans.get(i)
            if span is not None:
                if span.end > end:
                    raise ExpressionSyntaxError(span.body, 0, "expression crosses the end of a here-document")
                self.out.append("${" + self.variable(span, guarded=False) + "}")
                i = span.end
                continue
            c = s[i]
            self.out.append("\\" + c if c in "\\$`" else c)
            i += 1


def render_shell(
    script: str,
    resolve: Resolve,
    names: Names | None = None,
    *,
    shell: str = "bash",
    prefix: str = DEFAULT_PREFIX,
) -> tuple[str, dict[str, str]]:
    """Return the script with every ``<+...>`` replaced by an environment variable reference,
    and the environment (name -> value text) the script must run with.

    ``shell`` is ``bash`` or ``sh`` (the step's ``spec.shell``, any case): only Bash has
    ``$'...'``, ``(( ))`` and ``[[ ]]``. The same expression used twice shares one variable.
    Expressions inside comments are left as they are and not evaluated.
    """
    dialect = shell.strip().lower()
    if dialect not in ("bash", "sh"):
        raise ValueError(f"render_shell supports shell 'bash' or 'sh', not {shell!r}")
    return _ShellRenderer(script, Evaluator(resolve, names), dialect, prefix).render()
