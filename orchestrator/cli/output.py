"""Terminal output shared by the commands: issue lines, JSON, and the exit codes of SPEC §10."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from orchestrator.loading import Issue, PipelineLoadError

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_INVALID = 2


def stdout_console() -> Console:
    # soft_wrap: never break a `file:line: path: message` line; highlight off: print text as given
    return Console(soft_wrap=True, highlight=False)


def stderr_console() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def print_issues(issues: Iterable[Issue]) -> None:
    """One red ``file:line: path: message [code]`` line per issue, on stderr."""
    console = stderr_console()
    issues = list(issues)
    for issue in issues:
        console.print(Text(str(issue), style="red"))
    if len(issues) > 1:
        console.print(Text(f"{len(issues)} problems", style="bold red"))


def print_warnings(issues: Iterable[Issue]) -> None:
    """Tolerated issues (e.g. unknown step types in ``plan``), yellow on stderr."""
    console = stderr_console()
    for issue in issues:
        console.print(Text(f"warning: {issue}", style="yellow"))


def print_problem(message: str) -> None:
    stderr_console().print(Text(message, style="red"))


def emit_json(document: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()


def issues_json(issues: Iterable[Issue]) -> dict[str, Any]:
    issues = list(issues)
    return {"valid": not issues, "errors": [issue.to_dict() for issue in issues]}


@contextmanager
def input_errors(as_json: bool = False) -> Iterator[None]:
    """Turn bad input (PipelineLoadError, unreadable files) into a message and exit code 2."""
    try:
        yield
    except PipelineLoadError as exc:
        if as_json:
            emit_json(issues_json(exc.issues))
        else:
            print_issues(exc.issues)
        raise typer.Exit(EXIT_INVALID) from None
    except OSError as exc:
        print_problem(f"{exc.filename or 'input'}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_INVALID) from None
