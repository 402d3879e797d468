"""Design-time commands: ``validate``, ``plan`` and ``schema`` (nothing runs, nothing is enqueued)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from orchestrator.cli.app import app
from orchestrator.cli.output import (
    EXIT_INVALID,
    emit_json,
    input_errors,
    issues_json,
    print_issues,
    print_warnings,
    stdout_console,
)
from orchestrator.cli.plan_view import plan_json, plan_tree
from orchestrator.loading import load_pipeline, validate_pipeline
from orchestrator.schema import pipeline_json_schema

PipelineArg = Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline YAML file (`pipeline:` or a Stage/Pipeline `template:`).")]
InputsOpt = Annotated[Optional[str], typer.Option("--inputs", "-i", metavar="FILE", help="Input set YAML filling the pipeline's <+input> fields.")]
PipelinesDirOpt = Annotated[Optional[Path], typer.Option("--pipelines-dir", metavar="DIR", help="Where child pipelines (type: Pipeline stages) are found by identifier; default: the pipeline file's directory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


@app.command()
def validate(
    pipeline: PipelineArg,
    inputs: InputsOpt = None,
    pipelines_dir: PipelinesDirOpt = None,
    json_output: JsonOpt = False,
    require_inputs: Annotated[bool, typer.Option("--require-inputs", help="Also fail on runtime inputs a run would need but that have no value (as `run` does).")] = False,
) -> None:
    """Check a pipeline (and its inputs and child pipelines); exit 2 listing every problem."""
    issues = validate_pipeline(pipeline, inputs=inputs, pipelines_dir=pipelines_dir, require_inputs=require_inputs)
    if json_output:
        emit_json(issues_json(issues))
    elif issues:
        print_issues(issues)
    else:
        stdout_console().print(Text(f"{pipeline}: valid", style="green"))
    if issues:
        raise typer.Exit(EXIT_INVALID)


@app.command()
def plan(
    pipeline: PipelineArg,
    inputs: InputsOpt = None,
    pipelines_dir: PipelinesDirOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Show every node in execution order and, per step, the effective action for each error type."""
    with input_errors(as_json=json_output):
        loaded = load_pipeline(pipeline, inputs=inputs, pipelines_dir=pipelines_dir, allow_unknown_step_types=True)
    print_warnings(loaded.warnings)
    if json_output:
        emit_json(plan_json(loaded.plan))
        return
    console = Console(highlight=False)  # wraps long lines instead of cutting strategy chains off
    console.print(plan_tree(loaded.plan))
    for identifier, child in loaded.plan.children.items():
        console.print(Text(f"\nchild pipeline {identifier} ({child.source}):", style="bold"))
        console.print(plan_tree(child))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the pipeline YAML (for editors)."""
    emit_json(pipeline_json_schema())
