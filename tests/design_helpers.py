"""Helpers for the design-time tests (loading, validation, plan, CLI): no Redis needed.

Expected line numbers are computed from the test's own YAML text (``line_of``), never from the
code under test.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from orchestrator.cli.app import app

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = FIXTURES / "harness-samples"
CHILD_STUBS = FIXTURES / "harness-children"
DESIGN = FIXTURES / "design"

SHELL_SPEC = """\
spec:
  shell: Bash
  source:
    type: Inline
    spec:
      script: echo hi
"""


def yaml_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(yaml_text(text), encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    seen = 0
    for number, line in enumerate(yaml_text(text).splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in the test YAML")


def indent(block: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else line for line in yaml_text(block).splitlines())


def one_step_pipeline(step_extra: str = "", stage_extra: str = "", rollback: str = "") -> str:
    """A Custom stage with one ShellScript step; extra YAML goes into the step / stage mapping."""
    text = f"""\
pipeline:
  identifier: demo
  name: demo
  stages:
    - stage:
        identifier: build
        name: build
        type: Custom
{indent(stage_extra, 8) if stage_extra else ""}
        spec:
          execution:
            steps:
              - step:
                  identifier: compile
                  type: ShellScript
                  timeout: 10m
{indent(SHELL_SPEC, 18)}
{indent(step_extra, 18) if step_extra else ""}
{indent("rollbackSteps:" + chr(10) + indent(rollback, 2), 12) if rollback else ""}
"""
    return "\n".join(line for line in text.splitlines() if line.strip()) + "\n"


runner = CliRunner()


def cli(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def issue_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.rstrip().endswith("]")]


def assert_reported(result: Result, file: Path | str, line: int | None, path: str, code: str, *texts: str) -> str:
    """Exit 2, no traceback, and a ``file:line: path: message [code]`` line containing ``texts``."""
    from orchestrator.loading import ISSUE_CODES

    assert code in ISSUE_CODES
    no_traceback(result)
    assert result.exit_code == 2, result.output
    prefix = f"{file}:{line}: {path}: " if line is not None else f"{file}: {path}: "
    matches = [l for l in issue_lines(result) if l.startswith(prefix) and l.endswith(f"[{code}]")]
    assert matches, f"no issue {prefix}...[{code}] in:\n{result.output}"
    for text in texts:
        assert any(text in m for m in matches), f"{text!r} not in {matches}"
    return matches[0]


def validate_json(*args: str | Path) -> dict[str, Any]:
    result = cli("validate", *args, "--json")
    no_traceback(result)
    document = json.loads(result.stdout)
    assert result.exit_code == (0 if document["valid"] else 2)
    return document


def plan_json(*args: str | Path) -> dict[str, Any]:
    result = cli("plan", *args, "--json")
    no_traceback(result)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
