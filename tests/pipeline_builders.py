"""Small builders for pipeline dicts in behaviour tests (same shape as the YAML)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def write_yaml(path: Path, document: Any) -> Path:
    """Write a pipeline (or input set) as a real YAML file."""
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, stream)
    path.write_text(stream.getvalue())
    return path


def py(identifier: str, function: str = "ok", *, args: list | None = None, kwargs: dict | None = None,
       when: dict | None = None, strategies: list | None = None, timeout: str | None = None,
       name: str | None = None, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "identifier": identifier, "name": name or identifier, "type": "Python",
        "spec": {"function": f"tests.steps:{function}", "args": args or [], "kwargs": kwargs or {}},
    }
    if when:
        step["when"] = when
    if strategies is not None:
        step["failureStrategies"] = strategies
    if timeout:
        step["timeout"] = timeout
    step.update(extra)
    return {"step": step}


def shell(identifier: str, script: str, *, env: dict[str, str] | None = None, outputs: dict[str, str] | None = None,
          when: dict | None = None, strategies: list | None = None, timeout: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "identifier": identifier, "name": identifier, "type": "ShellScript",
        "spec": {
            "shell": "Bash",
            "source": {"type": "Inline", "spec": {"script": script}},
            "environmentVariables": [{"name": k, "type": "String", "value": v} for k, v in (env or {}).items()],
            "outputVariables": [{"name": k, "type": "String", "value": v} for k, v in (outputs or {}).items()],
        },
    }
    if when:
        step["when"] = when
    if strategies is not None:
        step["failureStrategies"] = strategies
    if timeout:
        step["timeout"] = timeout
    return {"step": step}


def group(identifier: str, steps: list, *, rollback: list | None = None, when: dict | None = None,
          strategies: list | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"identifier": identifier, "name": identifier, "steps": steps}
    if rollback:
        body["rollbackSteps"] = rollback
    if when:
        body["when"] = when
    if strategies is not None:
        body["failureStrategies"] = strategies
    return {"stepGroup": body}


def parallel(*items: dict) -> dict[str, Any]:
    return {"parallel": list(items)}


def stage(identifier: str, steps: list, *, rollback: list | None = None, when: dict | None = None,
          strategies: list | None = None, variables: list | None = None, timeout: str | None = None,
          stage_type: str = "Custom") -> dict[str, Any]:
    execution: dict[str, Any] = {"steps": steps}
    if rollback:
        execution["rollbackSteps"] = rollback
    body: dict[str, Any] = {"identifier": identifier, "name": identifier, "type": stage_type,
                            "spec": {"execution": execution}}
    if when:
        body["when"] = when
    if strategies is not None:
        body["failureStrategies"] = strategies
    if variables:
        body["variables"] = variables
    if timeout:
        body["timeout"] = timeout
    return {"stage": body}


def child_stage(identifier: str, pipeline: str, inputs: dict | None = None, *, when: dict | None = None,
                strategies: list | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"identifier": identifier, "name": identifier, "type": "Pipeline",
                            "spec": {"pipeline": pipeline, "inputs": inputs or {}}}
    if when:
        body["when"] = when
    if strategies is not None:
        body["failureStrategies"] = strategies
    return {"stage": body}


def pipeline(identifier: str, stages: list, *, variables: list | None = None, timeout: str | None = None) -> dict:
    body: dict[str, Any] = {"identifier": identifier, "name": identifier, "stages": stages}
    if variables:
        body["variables"] = variables
    if timeout:
        body["timeout"] = timeout
    return {"pipeline": body}


def on(errors: list[str] | str, action_type: str, **spec: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"type": action_type}
    if spec:
        action["spec"] = spec
    return {"onFailure": {"errors": [errors] if isinstance(errors, str) else errors, "action": action}}


def retry(count: int, intervals: list[str], then: str = "MarkAsFailure", **then_spec: Any) -> dict[str, Any]:
    then_action: dict[str, Any] = {"type": then}
    if then_spec:
        then_action["spec"] = then_spec
    return {"retryCount": count, "retryIntervals": intervals, "onRetryFailure": {"action": then_action}}
