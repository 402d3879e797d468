"""ShellScript executor: env vars, output variables, failures, timeout, cancellation, injection."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import ValidationError

from strategies.errors import ErrorType, StepError
from workers.executors.base import Completed, StepContext
from workers.executors.shell import TAIL_BYTES, ShellScriptExecutor, ShellScriptSpec

SHELLS = ["Bash", "Sh"]


def make_ctx(spec: dict[str, Any], timeout: float | None = 30, values: dict[str, Any] | None = None) -> StepContext:
    values = values or {}

    def resolve(body: str) -> Any:
        return values[body]

    def render(obj: Any) -> Any:  # not used by ShellScript; rendering goes through the expressions package
        return obj

    return StepContext(
        run_id="run1", node_key="stage.step", attempt=1, step_type="ShellScript", spec=spec,
        timeout=timeout, render=render, resolve=resolve,
    )


def shell_spec(script: str, shell: str = "Bash", env: dict[str, Any] | None = None,
               outputs: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "shell": shell,
        "onDelegate": True,
        "source": {"type": "Inline", "spec": {"script": script}},
        "environmentVariables": [{"name": k, "type": "String", "value": v} for k, v in (env or {}).items()],
        "outputVariables": [{"name": k, "type": "String", "value": v} for k, v in (outputs or {}).items()],
        **extra,
    }


def run(spec: dict[str, Any], **kw: Any) -> dict[str, Any]:
    outcome = ShellScriptExecutor().execute(make_ctx(spec, **kw))
    assert isinstance(outcome, Completed)
    return outcome.output


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for_file(path: Path, timeout: float = 5.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} was not written")


# --------------------------------------------------------------------------- spec validation


def test_spec_keeps_harness_keys_and_rejects_powershell() -> None:
    spec = ShellScriptSpec.model_validate(shell_spec("echo hi", executionTarget={}, delegateSelectors=["a"]))
    assert spec.model_dump()["delegateSelectors"] == ["a"]
    assert spec.model_dump()["executionTarget"] == {}
    with pytest.raises(ValidationError, match="PowerShell.*not supported"):
        ShellScriptSpec.model_validate(shell_spec("Write-Host hi", shell="PowerShell"))


def test_spec_output_variable_value_must_be_a_shell_identifier() -> None:
    with pytest.raises(ValidationError, match="name of a shell variable"):
        ShellScriptSpec.model_validate(shell_spec("x=1", outputs={"out": "$(rm -rf /)"}))
    with pytest.raises(ValidationError, match="Inline"):
        ShellScriptSpec.model_validate({"shell": "Bash", "source": {"type": "Harness", "spec": {"script": "x"}}})


# --------------------------------------------------------------------------- success paths


@pytest.mark.parametrize("shell", SHELLS)
def test_env_vars_and_output_variables(shell: str) -> None:
    out = run(shell_spec(
        'greeting="hello $WHO"\ncount=3\necho "to stdout"\necho "to stderr" >&2\n',
        shell=shell, env={"WHO": "big world", "N": 7}, outputs={"greeting": "greeting", "count": "count",
                                                                "who": "WHO", "missing": "never_set"},
    ))
    assert out["exitCode"] == 0
    assert out["outputVariables"] == {"greeting": "hello big world", "count": "3", "who": "big world",
                                      "missing": None}
    assert out["stdout"] == "to stdout\n"
    assert out["stderr"] == "to stderr\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_output_variables_survive_explicit_exit_0_and_nounset(shell: str) -> None:
    out = run(shell_spec("set -eu\nresult='a b  c'\nexit 0\nresult=unreachable\n", shell=shell,
                         outputs={"result": "result", "other": "undefined_var"}))
    assert out["outputVariables"] == {"result": "a b  c", "other": None}


def test_output_variable_with_newlines_and_user_ifs() -> None:
    out = run(shell_spec("IFS=,\nmulti=$'line1\\nline2'\n", outputs={"multi": "multi"}))
    assert out["outputVariables"]["multi"] == "line1\nline2"


def test_stdout_tail_is_bounded() -> None:
    out = run(shell_spec("head -c 200000 /dev/zero | tr '\\0' x; echo END"))
    assert len(out["stdout"]) <= TAIL_BYTES
    assert out["stdout"].endswith("END\n")


def test_working_directory(tmp_path: Path) -> None:
    run(shell_spec("echo here > marker.txt", workingDirectory=str(tmp_path)))
    assert (tmp_path / "marker.txt").read_text() == "here\n"


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize("shell", SHELLS)
def test_non_zero_exit_is_unknown_with_code_and_stderr(shell: str) -> None:
    with pytest.raises(StepError) as info:
        run(shell_spec("x=partial\necho 'it broke: disk full' >&2\nexit 7\n", shell=shell, outputs={"x": "x"}))
    err = info.value
    assert err.error_type == ErrorType.UNKNOWN
    assert "exited with code 7" in err.message
    assert "it broke: disk full" in err.message
    assert err.output["exitCode"] == 7  # type: ignore[attr-defined]
    assert err.output["outputVariables"] == {"x": "partial"}  # type: ignore[attr-defined]


def test_killed_by_signal() -> None:
    with pytest.raises(StepError, match="killed by signal 9"):
        run(shell_spec("kill -9 $$"))


@pytest.mark.parametrize("shell", SHELLS)
def test_timeout_kills_the_process_group(shell: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    start = time.monotonic()
    with pytest.raises(StepError) as info:
        run(shell_spec(f"sleep 30 &\necho $! > {pidfile}\nwait\n", shell=shell), timeout=1)
    elapsed = time.monotonic() - start
    assert info.value.error_type == ErrorType.TIMEOUT
    assert 0.9 <= elapsed < 2.5, elapsed
    sleep_pid = int(pidfile.read_text())
    assert not alive(sleep_pid), "the script's sleep survived the timeout"


def test_foreground_sleep_timeout_leaves_no_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "shell.pid"
    start = time.monotonic()
    with pytest.raises(StepError) as info:
        run(shell_spec(f"echo $$ > {pidfile}\nsleep 30\n"), timeout=1)
    assert info.value.error_type == ErrorType.TIMEOUT
    assert time.monotonic() - start < 2.5
    pgid = int(pidfile.read_text())
    left = [p for p in psutil.process_iter(["status"]) if _pgid(p.pid) == pgid and p.info["status"] != "zombie"]
    assert left == []


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def test_background_processes_are_ended_after_a_normal_exit(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    out = run(shell_spec(f"sleep 30 &\necho $! > {pidfile}\nexit 0\n"))
    assert out["exitCode"] == 0
    assert not alive(int(pidfile.read_text()))


def test_cancellation_kills_the_script(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    ctx = make_ctx(shell_spec(f"sleep 30 &\necho $! > {pidfile}\nwait\n"), timeout=60)
    threading.Thread(target=lambda: (wait_for_file(pidfile), ctx.cancelled.set()), daemon=True).start()
    start = time.monotonic()
    with pytest.raises(StepError) as info:
        ShellScriptExecutor().execute(ctx)
    assert info.value.error_type == ErrorType.UNKNOWN
    assert info.value.message == "cancelled"
    assert time.monotonic() - start < 3
    assert not alive(int(pidfile.read_text()))


def test_already_cancelled_does_not_start(tmp_path: Path) -> None:
    ctx = make_ctx(shell_spec(f"touch {tmp_path}/started"))
    ctx.cancelled.set()
    with pytest.raises(StepError, match="cancelled"):
        ShellScriptExecutor().execute(ctx)
    assert not (tmp_path / "started").exists()


# --------------------------------------------------------------------------- injection

PAYLOADS = ['"; touch {d}/injected1; echo "', "$(touch {d}/injected2)", "`touch {d}/injected3`",
            "'; touch {d}/injected4; '"]


@pytest.mark.parametrize("shell", SHELLS)
def test_environment_variable_values_cannot_inject(shell: str, tmp_path: Path) -> None:
    env = {f"V{i}": p.format(d=tmp_path) for i, p in enumerate(PAYLOADS)}
    script = "".join(f'echo $V{i}\necho "$V{i}"\nout{i}=$V{i}\n' for i in range(len(PAYLOADS)))
    out = run(shell_spec(script, shell=shell, env=env, outputs={f"o{i}": f"out{i}" for i in range(len(PAYLOADS))},
                         workingDirectory=str(tmp_path)))
    assert list(tmp_path.iterdir()) == []
    assert out["outputVariables"] == {f"o{i}": env[f"V{i}"] for i in range(len(PAYLOADS))}


@pytest.mark.parametrize("shell", SHELLS)
def test_expression_values_cannot_inject(shell: str, tmp_path: Path) -> None:
    values = {f"pipeline.variables.v{i}": p.format(d=tmp_path) for i, p in enumerate(PAYLOADS)}
    script = "".join(
        f'echo <+pipeline.variables.v{i}>\necho "<+pipeline.variables.v{i}>"\nx{i}=<+pipeline.variables.v{i}>\n'
        for i in range(len(PAYLOADS))
    )
    out = ShellScriptExecutor().execute(make_ctx(
        shell_spec(script, shell=shell, outputs={f"x{i}": f"x{i}" for i in range(len(PAYLOADS))},
                   workingDirectory=str(tmp_path)),
        values=values,
    )).output
    assert list(tmp_path.iterdir()) == []
    assert out["outputVariables"] == {f"x{i}": values[f"pipeline.variables.v{i}"] for i in range(len(PAYLOADS))}
    assert values["pipeline.variables.v1"] + "\n" in out["stdout"]


def test_expressions_in_environment_variable_values_are_rendered() -> None:
    out = ShellScriptExecutor().execute(make_ctx(
        shell_spec('echo "$TARGET"', env={"TARGET": "<+pipeline.variables.region>-cluster"}),
        values={"pipeline.variables.region": "eu-west-1"},
    )).output
    assert out["stdout"] == "eu-west-1-cluster\n"


def test_unresolved_expression_fails_the_step_and_runs_nothing(tmp_path: Path) -> None:
    from orchestrator.expressions import UnresolvedExpression

    def resolve(body: str) -> Any:
        raise UnresolvedExpression(body)

    ctx = make_ctx(shell_spec(f"touch {tmp_path}/ran\necho <+pipeline.variables.missing>"))
    ctx.resolve = resolve
    with pytest.raises(StepError) as info:
        ShellScriptExecutor().execute(ctx)
    assert info.value.error_type == ErrorType.UNKNOWN
    assert "pipeline.variables.missing" in info.value.message
    assert not (tmp_path / "ran").exists()


def test_unsafe_value_in_bash_arithmetic_is_refused(tmp_path: Path) -> None:
    ctx = make_ctx(shell_spec("echo $(( <+pipeline.variables.n> + 1 ))", workingDirectory=str(tmp_path)),
                   values={"pipeline.variables.n": f"a[$(touch {tmp_path}/injected)]"})
    with pytest.raises(StepError, match="arithmetic"):
        ShellScriptExecutor().execute(ctx)
    assert list(tmp_path.iterdir()) == []
    out = ShellScriptExecutor().execute(make_ctx(shell_spec("echo $(( <+pipeline.variables.n> + 1 ))"),
                                                 values={"pipeline.variables.n": 41})).output
    assert out["stdout"] == "42\n"


def test_harness_sample_script_with_expressions_in_quotes() -> None:
    script = ('if [ "<+infra.namespace>" == "NOT_SET" ]\nthen\n  echo "no namespace for <+env.name>"\n  exit 1\nfi\n'
              "echo 'ns: <+infra.namespace>'\n")
    out = ShellScriptExecutor().execute(make_ctx(shell_spec(script), values={
        "infra.namespace": "team-a", "env.name": "qa"})).output
    assert out["stdout"] == "ns: team-a\n"
    with pytest.raises(StepError, match="exited with code 1"):
        ShellScriptExecutor().execute(make_ctx(shell_spec(script), values={
            "infra.namespace": "NOT_SET", "env.name": "qa"}))
