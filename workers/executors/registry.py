"""Step-type registry: which executor runs each ``step.type``.

Built-in types are listed by import path so that validating a pipeline never imports Celery or
an executor's dependencies. Users add their own types with :func:`register_executor`, from a
module named in ``ORCHESTRATOR_PLUGINS`` (comma-separated, imported by the CLI and by every worker)
or from the ``orchestrator.executors`` entry-point group of an installed package.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

BUILTIN_EXECUTORS: dict[str, str] = {
    "ShellScript": "workers.executors.shell:ShellScriptExecutor",
    "Http": "workers.executors.http:HttpExecutor",
    "Python": "workers.executors.python:PythonExecutor",
    "Wait": "workers.executors.wait:WaitExecutor",
    "HarnessApproval": "workers.executors.approval:ApprovalExecutor",
}

_registered: dict[str, Any] = {}
_plugins_loaded = False


def register_executor(step_type: str, executor: Any) -> None:
    """Register an executor class (or instance, or ``"module:Class"`` path) for ``step_type``."""
    _registered[step_type] = executor


def load_plugins() -> None:
    """Import ``ORCHESTRATOR_PLUGINS`` modules and entry points once, so they can register types."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for name in filter(None, (m.strip() for m in os.environ.get("ORCHESTRATOR_PLUGINS", "").split(","))):
        importlib.import_module(name)
    for ep in entry_points(group="orchestrator.executors"):
        register_executor(ep.name, ep.value)


def known_types() -> set[str]:
    load_plugins()
    return set(BUILTIN_EXECUTORS) | set(_registered)


def is_known(step_type: str | None) -> bool:
    return step_type is not None and step_type in known_types()


def _load(target: Any) -> Any:
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        target = getattr(importlib.import_module(module), attr)
    return target


def executor_class(step_type: str) -> Any:
    load_plugins()
    target = _registered.get(step_type) or BUILTIN_EXECUTORS.get(step_type)
    if target is None:
        raise KeyError(step_type)
    return _load(target)


def spec_model(step_type: str) -> type[BaseModel] | None:
    """The executor's spec model, used by validation (None if it declares none)."""
    return getattr(executor_class(step_type), "spec_model", None)


REGISTER_HINT = (
    "register an executor for it: `from workers.executors.registry import register_executor; "
    "register_executor('{type}', 'mypkg.module:MyExecutor')` in a module listed in ORCHESTRATOR_PLUGINS "
    "(or an `orchestrator.executors` entry point)"
)
