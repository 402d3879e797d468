"""The ``orchestrator`` command: the typer app every command module registers onto, and ``main``.

Command modules (``design`` for validate/plan/schema, ``runs`` for run/status/... when present)
are imported at the end so each can ``from orchestrator.cli.app import app`` and decorate.
``main`` guarantees the exit-code contract: 2 for bad input, never a traceback for it.
"""

from __future__ import annotations

import importlib
import sys

import typer

from orchestrator.cli.output import EXIT_INVALID, print_issues, print_problem
from orchestrator.loading import PipelineLoadError

app = typer.Typer(
    name="orchestrator",
    help="Run Harness-style YAML pipelines on Celery workers over Redis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """Run Harness-style YAML pipelines on Celery workers over Redis.

    Exit codes: 0 success, 1 the run ended in another status, 2 invalid input or usage.
    """


COMMAND_MODULES = ("orchestrator.cli.design", "orchestrator.cli.runs", "orchestrator.cli.flower")
"""Imported in order; a module that does not exist (yet) is skipped."""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


_register_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except PipelineLoadError as exc:
        print_issues(exc.issues)
        sys.exit(EXIT_INVALID)
    except OSError as exc:
        print_problem(f"{exc.filename or 'input'}: {exc.strerror or exc}")
        sys.exit(EXIT_INVALID)


if __name__ == "__main__":
    main()
