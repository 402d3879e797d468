"""Python executor: importable functions and registered Celery tasks, called in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from strategies.errors import ConnectivityError, ErrorType, StepError
from workers.executors.base import Completed, StepContext
from workers.executors.python import PythonExecutor, PythonSpec

HERE = __name__  # importable as a top-level module: pytest puts tests/ on sys.path


# Functions the steps call ----------------------------------------------------------------------

def add(a: int, b: int, *, scale: int = 1) -> dict[str, Any]:
    return {"sum": (a + b) * scale, "label": f"{a}+{b}"}


def returns_list() -> list[Any]:
    return [1, (2, 3), {"nested": {"deep": True}}]


def raises_step_error() -> None:
    raise StepError("Connectivity", "database refused the connection")


def raises_typed_error() -> None:
    raise ConnectivityError("queue unreachable")


def raises_value_error() -> None:
    raise ValueError("bad input 42")


def raises_connection_refused() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


def raises_permission_error() -> None:
    raise PermissionError(13, "Permission denied", "/etc/shadow")


def returns_object() -> object:
    return object()


def returns_nan() -> float:
    return float("nan")


def calls_exit() -> None:
    raise SystemExit(3)


class Greeter:
    @staticmethod
    def hello(name: str) -> str:
        return f"hello {name}"


CALLS: list[Any] = []


def record_call() -> None:
    CALLS.append(1)


# Helpers ----------------------------------------------------------------------------------------

def make_ctx(spec: dict[str, Any], values: dict[str, Any] | None = None) -> StepContext:
    values = values or {}

    def render(obj: Any) -> Any:  # a stand-in for the run context's renderer: whole-string references
        if isinstance(obj, str) and obj.startswith("<+") and obj.endswith(">"):
            return values[obj[2:-1]]
        if isinstance(obj, list):
            return [render(v) for v in obj]
        if isinstance(obj, dict):
            return {k: render(v) for k, v in obj.items()}
        return obj

    return StepContext(run_id="run1", node_key="stage.py", attempt=1, step_type="Python", spec=spec,
                       timeout=None, render=render, resolve=lambda body: values[body])


def run(spec: dict[str, Any], **kw: Any) -> dict[str, Any]:
    outcome = PythonExecutor().execute(make_ctx(spec, **kw))
    assert isinstance(outcome, Completed)
    return outcome.output


def fail(spec: dict[str, Any]) -> StepError:
    with pytest.raises(StepError) as info:
        PythonExecutor().execute(make_ctx(spec))
    return info.value


# Spec -------------------------------------------------------------------------------------------

def test_spec_needs_exactly_one_target() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        PythonSpec.model_validate({"args": []})
    with pytest.raises(ValidationError, match="exactly one"):
        PythonSpec.model_validate({"function": "a:b", "task": "t"})
    with pytest.raises(ValidationError, match="pkg.module:func"):
        PythonSpec.model_validate({"function": "no_colon.here"})


# Functions --------------------------------------------------------------------------------------

def test_function_with_rendered_args_and_kwargs() -> None:
    out = run({"function": f"{HERE}:add", "args": ["<+pipeline.variables.a>", 2], "kwargs": {"scale": 10}},
              values={"pipeline.variables.a": 1})
    assert out == {"result": {"sum": 30, "label": "1+2"}, "outputVariables": {"sum": 30, "label": "1+2"}}


def test_non_dict_result_has_no_output_variables() -> None:
    out = run({"function": f"{HERE}:returns_list"})
    assert out == {"result": [1, [2, 3], {"nested": {"deep": True}}], "outputVariables": {}}


def test_dotted_attribute_and_stdlib_function() -> None:
    assert run({"function": f"{HERE}:Greeter.hello", "args": ["ops"]})["result"] == "hello ops"
    assert run({"function": "operator:mul", "args": [6, 7]})["result"] == 42


def test_step_error_names_its_type() -> None:
    err = fail({"function": f"{HERE}:raises_step_error"})
    assert err.error_type == ErrorType.CONNECTIVITY
    assert err.message == "database refused the connection"
    assert fail({"function": f"{HERE}:raises_typed_error"}).error_type == ErrorType.CONNECTIVITY


@pytest.mark.parametrize("func, error_type, text", [
    ("raises_value_error", ErrorType.UNKNOWN, "ValueError: bad input 42"),
    ("raises_connection_refused", ErrorType.CONNECTIVITY, "ConnectionRefusedError"),
    ("raises_permission_error", ErrorType.AUTHORIZATION, "PermissionError"),
    ("calls_exit", ErrorType.UNKNOWN, "sys.exit(3)"),
])
def test_other_exceptions_are_classified(func: str, error_type: ErrorType, text: str) -> None:
    err = fail({"function": f"{HERE}:{func}"})
    assert err.error_type == error_type
    assert text in err.message


@pytest.mark.parametrize("func", ["returns_object", "returns_nan"])
def test_non_json_return_value_fails_clearly(func: str) -> None:
    err = fail({"function": f"{HERE}:{func}"})
    assert err.error_type == ErrorType.UNKNOWN
    assert "not JSON-serializable" in err.message


def test_missing_module_or_attribute() -> None:
    assert "cannot import module" in fail({"function": "no_such_module_xyz:f"}).message
    assert "has no attribute" in fail({"function": f"{HERE}:nope"}).message


def test_cancelled_before_the_call_does_not_call() -> None:
    CALLS.clear()
    ctx = make_ctx({"function": f"{HERE}:record_call"})
    ctx.cancelled.set()
    with pytest.raises(StepError, match="cancelled"):
        PythonExecutor().execute(ctx)
    assert CALLS == []


# Celery tasks -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def celery_app() -> Iterator[Any]:
    from celery import Celery
    from celery._state import get_current_app

    previous = get_current_app()
    app = Celery("executor-tests", set_as_current=True)

    @app.task(name="tests.multiply")
    def multiply(x: int, y: int = 2) -> dict[str, int]:
        return {"product": x * y}

    @app.task(name="tests.refuse")
    def refuse() -> None:
        raise ConnectionRefusedError("nope")

    yield app
    previous.set_current()


def test_celery_task_is_called_in_process(celery_app: Any) -> None:
    out = run({"task": "tests.multiply", "args": [21], "kwargs": {"y": 2}})
    assert out == {"result": {"product": 42}, "outputVariables": {"product": 42}}
    assert fail({"task": "tests.refuse"}).error_type == ErrorType.CONNECTIVITY


def test_unknown_celery_task(celery_app: Any) -> None:
    err = fail({"task": "tests.not_registered"})
    assert "no Celery task named 'tests.not_registered'" in err.message
