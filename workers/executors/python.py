"""Python (ours): call an importable function, or a registered Celery task's function, on the worker.

Spec: ``{function: "pkg.module:func", args: [...], kwargs: {...}}`` imports ``pkg.module`` and calls
``func`` (a dotted attribute path after the colon, such as ``mod:Class.method``, works too); or
``{task: "celery.task.name", args, kwargs}`` calls the function of a task registered with the
worker's Celery app, in-process (``celery.current_app.tasks[name](*args, **kwargs)``), not through
the broker. ``args``/``kwargs`` are rendered (``<+...>``) first.

The return value must be JSON-serializable; the output is ``{"result": value, "outputVariables":
value if it is a dict of scalars else {}}``, so a function returning ``{"version": "1.2"}`` feeds
``<+execution.steps.X.output.outputVariables.version>``.

Errors: a function may ``raise StepError("Connectivity", "...")`` (or ``ConnectivityError(...)``
and the other classes of :mod:`strategies.errors`) to name its error type; any other exception is
classified by :func:`strategies.classify.classify_exception` (``ConnectionRefusedError`` ->
Connectivity, ``PermissionError`` -> Authorization, ``TimeoutError`` -> Timeout, else Unknown).

Timeout and cancellation: a Python function cannot be stopped safely from outside its thread, so
it runs in the calling thread to completion. The step timeout is enforced by the coordinator (the
attempt is marked Expired when it is up, and a result that arrives later is discarded); on prefork
workers Celery's soft time limit raises ``SoftTimeLimitExceeded`` inside the function (-> Timeout).
``ctx.cancelled`` is checked before the call only.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from orchestrator.model.common import HarnessModel
from strategies.classify import classify_exception
from strategies.errors import ErrorType, StepError
from workers.executors.base import Completed, StepContext

FUNCTION_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


class PythonSpec(HarnessModel):
    function: str | None = None
    task: str | None = None
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None

    @field_validator("function")
    @classmethod
    def _function_path(cls, value: str | None) -> str | None:
        if value is not None and not FUNCTION_RE.match(value):
            raise ValueError(f"function {value!r} must look like 'pkg.module:func'")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> "PythonSpec":
        if (self.function is None) == (self.task is None):
            raise ValueError("give exactly one of function ('pkg.module:func') or task (a Celery task name)")
        return self


def _import_function(path: str) -> Callable[..., Any]:
    module_name, _, attr_path = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise StepError(ErrorType.UNKNOWN, f"cannot import module {module_name!r} for {path}: {exc}") from exc
    for attr in attr_path.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError as exc:
            raise StepError(ErrorType.UNKNOWN, f"{path}: {module_name} has no attribute {attr_path!r}") from exc
    if not callable(target):
        raise StepError(ErrorType.UNKNOWN, f"{path} is not callable")
    return target


def _celery_task(name: str) -> Callable[..., Any]:
    from celery import current_app  # the one place an executor touches Celery, lazily

    try:
        return current_app.tasks[name]
    except KeyError:
        raise StepError(ErrorType.UNKNOWN, f"no Celery task named {name!r} is registered on this worker") from None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


class PythonExecutor:
    """Runs ``Python`` steps: ``function`` or ``task``, called in the calling thread."""

    spec_model: ClassVar[type[HarnessModel]] = PythonSpec

    def execute(self, ctx: StepContext) -> Completed:
        spec = PythonSpec.model_validate(ctx.spec)
        args = ctx.render(spec.args or [])
        kwargs = ctx.render(spec.kwargs or {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise StepError(ErrorType.UNKNOWN, "args must render to a list and kwargs to a mapping")
        func = _import_function(spec.function) if spec.function else _celery_task(spec.task or "")
        target = spec.function or f"task {spec.task}"
        if ctx.cancelled.is_set():
            raise StepError(ErrorType.UNKNOWN, "cancelled")
        try:
            value = func(*args, **kwargs)
        except StepError:
            raise
        except SystemExit as exc:
            raise StepError(ErrorType.UNKNOWN, f"{target} called sys.exit({exc.code!r})") from exc
        except Exception as exc:
            error_type, message = classify_exception(exc)
            raise StepError(error_type, f"{target}: {message}") from exc
        try:
            value = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise StepError(
                ErrorType.UNKNOWN,
                f"{target} returned a value that is not JSON-serializable ({type(value).__name__}): {exc}",
            ) from exc
        outputs = value if isinstance(value, dict) and all(_is_scalar(v) for v in value.values()) else {}
        return Completed(output={"result": value, "outputVariables": outputs})
