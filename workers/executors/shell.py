"""ShellScript: run an inline Bash/sh script on the worker.

Harness semantics:

- ``spec.shell``: ``Bash`` or ``Sh`` (PowerShell is rejected at validation).
- ``spec.source``: ``{type: Inline, spec: {script}}``.
- ``spec.environmentVariables``: ``[{name, type, value}]``; each value is rendered (``<+...>``)
  and handed to the script as an environment variable.
- ``spec.outputVariables``: ``[{name, type, value}]`` where ``value`` is the NAME of a shell
  variable; its value when the script ends becomes ``output.outputVariables[name]`` (None if the
  variable is unset).

``<+...>`` expressions in the script are rendered with
:func:`orchestrator.expressions.render_shell`: each one becomes a reference to an environment
variable holding its value, so a value can never inject shell syntax.

The script runs as ``<shell> -c <wrapper>`` in a new session (its own process group). The wrapper
installs an EXIT trap that writes the output variables, NUL-separated, to the file named by
``ORCHESTRATOR_OUTPUT_FILE`` and then sources the script file, so an explicit ``exit`` in the script
still exports the outputs. A script that installs its own EXIT trap replaces this one (its output
variables are then None). On timeout or cancellation the whole process group gets SIGTERM and,
after a short grace, SIGKILL; after a normal exit, processes the script left running in its group
are ended the same way (a process that started its own session with ``setsid`` escapes this).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, field_validator, model_validator

from orchestrator.model.common import HarnessModel
from strategies.errors import ErrorType, StepError
from workers.executors.base import Completed, StepContext

SHELL_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OUTPUT_FILE_ENV = "ORCHESTRATOR_OUTPUT_FILE"
OUTPUT_NAMES_ENV = "ORCHESTRATOR_OUTPUT_NAMES"
TAIL_BYTES = 4096
"""stdout/stderr kept in the step output (the last bytes)."""
MESSAGE_STDERR_CHARS = 1000
"""stderr quoted in a failure message (the last characters)."""
KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL when a process group is ended."""
POLL_INTERVAL = 0.02


# --------------------------------------------------------------------------- shared spec pieces


def _stringify(value: Any) -> Any:
    """YAML scalars (``value: 3``, ``value: true``) mean their text, as in Harness."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_stringify)]
"""A string field that also accepts YAML numbers/booleans as their text."""


class NameTypeValue(HarnessModel):
    """``{name, type, value}``, the shape of Harness step variables."""

    name: str
    type: str | None = "String"
    value: Text | None = None


class Deadline:
    """Seconds left of an optional timeout, on the monotonic clock."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.end = None if timeout is None else time.monotonic() + max(0.0, float(timeout))

    def remaining(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end


def render_text(text: str | None, ctx: StepContext, names: dict[str, Any] | None = None) -> str:
    """``text`` with its ``<+...>`` expressions rendered (text without any is returned as is)."""
    if text is None:
        return ""
    if "<+" not in text:
        return text
    from orchestrator.expressions import ExpressionError
    from orchestrator.expressions import render_text as _render_text

    try:
        return str(_render_text(text, ctx.resolve, names=names))
    except ExpressionError as exc:
        raise StepError(ErrorType.UNKNOWN, str(exc)) from exc


def render_shell(script: str, ctx: StepContext, shell: str = "Bash") -> tuple[str, dict[str, str]]:
    """The script with each ``<+...>`` replaced by an env-var reference, and those env values."""
    if "<+" not in script:
        return script, {}
    from orchestrator.expressions import ExpressionError
    from orchestrator.expressions import render_shell as _render_shell

    try:
        rendered, env = _render_shell(script, ctx.resolve, shell=shell.lower())
    except ExpressionError as exc:
        raise StepError(ErrorType.UNKNOWN, str(exc)) from exc
    return rendered, {str(k): str(v) for k, v in env.items()}


# --------------------------------------------------------------------------- spec model


class ShellVariable(NameTypeValue):
    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not SHELL_IDENTIFIER_RE.match(value):
            raise ValueError(f"invalid variable name {value!r}: must match ^[A-Za-z_][A-Za-z0-9_]*$")
        return value


class ShellOutputVariable(ShellVariable):
    value: Text

    @field_validator("value")
    @classmethod
    def _value_is_identifier(cls, value: str) -> str:
        if not SHELL_IDENTIFIER_RE.match(value):
            raise ValueError(
                f"output variable value {value!r} must be the name of a shell variable "
                "(^[A-Za-z_][A-Za-z0-9_]*$) whose final value is exported"
            )
        return value


class ShellSourceSpec(HarnessModel):
    script: Text


class ShellSource(HarnessModel):
    type: str = "Inline"
    spec: ShellSourceSpec

    @field_validator("type")
    @classmethod
    def _inline_only(cls, value: str) -> str:
        if value != "Inline":
            raise ValueError(f"source type {value!r} is not supported: use type: Inline with spec.script")
        return value


class ShellScriptSpec(HarnessModel):
    shell: str
    source: ShellSource
    environment_variables: list[ShellVariable] | None = None
    output_variables: list[ShellOutputVariable] | None = None
    working_directory: str | None = None
    """Ours: the script's working directory (default: a fresh temporary directory per attempt)."""
    execution_target: dict[str, Any] | None = None
    on_delegate: bool | None = None

    @field_validator("shell")
    @classmethod
    def _supported_shell(cls, value: str) -> str:
        canonical = {"bash": "Bash", "sh": "Sh"}.get(str(value).lower())
        if canonical is None:
            raise ValueError(f"shell {value!r} is not supported: use Bash or Sh")
        return canonical

    @model_validator(mode="after")
    def _unique_output_names(self) -> "ShellScriptSpec":
        names = [v.name for v in self.output_variables or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"output variable names must be unique: {', '.join(dupes)}")
        return self


# --------------------------------------------------------------------------- the wrapper scripts

_BASH_WRAPPER = r"""__orch_out=$ORCHESTRATOR_OUTPUT_FILE
__orch_names=$ORCHESTRATOR_OUTPUT_NAMES
unset ORCHESTRATOR_OUTPUT_FILE ORCHESTRATOR_OUTPUT_NAMES
__orch_exit() {
  __orch_rc=$?
  trap - EXIT
  local IFS=' '
  {
    for __orch_n in $__orch_names; do
      if [ -n "${!__orch_n+x}" ]; then printf 'S%s\0' "${!__orch_n}"; else printf 'U\0'; fi
    done
  } >"$__orch_out" 2>/dev/null
  exit "$__orch_rc"
}
trap __orch_exit EXIT
__orch_script=$1
shift
. "$__orch_script"
"""

_SH_WRAPPER_HEAD = r"""__orch_out=$ORCHESTRATOR_OUTPUT_FILE
unset ORCHESTRATOR_OUTPUT_FILE ORCHESTRATOR_OUTPUT_NAMES
__orch_exit() {
  __orch_rc=$?
  trap - EXIT
  {
    :
"""
_SH_WRAPPER_TAIL = r"""  } >"$__orch_out" 2>/dev/null
  exit "$__orch_rc"
}
trap __orch_exit EXIT
__orch_script=$1
shift
. "$__orch_script"
"""


def _sh_wrapper(names: list[str]) -> str:
    # Names are validated shell identifiers, so they can be written into the code as they are.
    lines = [
        f"""    if [ -n "${{{n}+x}}" ]; then printf 'S%s\\0' "${n}"; else printf 'U\\0'; fi\n"""
        for n in names
    ]
    return _SH_WRAPPER_HEAD + "".join(lines) + _SH_WRAPPER_TAIL


def _shell_binary(shell: str) -> str:
    name = "bash" if shell == "Bash" else "sh"
    for candidate in (f"/bin/{name}", f"/usr/bin/{name}"):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if not found:
        raise StepError(ErrorType.UNKNOWN, f"{name} is not installed on this worker")
    return found


# --------------------------------------------------------------------------- process handling


class _TailReader(threading.Thread):
    """Drains a pipe, keeping only its last ``limit`` bytes."""

    def __init__(self, stream: Any, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.buf = bytearray()

    def run(self) -> None:
        try:
            while True:
                chunk = self.stream.read(65536)
                if not chunk:
                    break
                self.buf += chunk
                if len(self.buf) > 4 * self.limit:
                    del self.buf[: -self.limit]
        except (OSError, ValueError):
            pass
        finally:
            try:
                self.stream.close()
            except OSError:
                pass

    def text(self) -> str:
        return bytes(self.buf[-self.limit :]).decode("utf-8", errors="replace")


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in the process group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return True
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return False


def kill_process_group(proc: subprocess.Popen, grace: float = KILL_GRACE) -> None:
    """SIGTERM the process group of ``proc``; SIGKILL whatever is left after ``grace`` seconds."""
    pgid = proc.pid  # start_new_session: the shell leads its own group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        proc.poll()
        return
    end = time.monotonic() + grace
    while time.monotonic() < end:
        proc.poll()  # reap the shell as soon as it exits
        if not _group_alive(pgid):
            break
        time.sleep(POLL_INTERVAL)
    else:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass


def _parse_outputs(path: str, names: list[str]) -> dict[str, str | None]:
    try:
        with open(path, "rb") as fh:
            items = fh.read().split(b"\0")
    except FileNotFoundError:
        items = []
    out: dict[str, str | None] = {}
    for i, name in enumerate(names):
        item = items[i] if i < len(items) else b"U"
        out[name] = item[1:].decode("utf-8", errors="replace") if item[:1] == b"S" else None
    return out


# --------------------------------------------------------------------------- the executor


class ShellScriptExecutor:
    """Runs ``ShellScript`` steps. Output: ``{outputVariables, exitCode, stdout, stderr}``."""

    spec_model: ClassVar[type[HarnessModel]] = ShellScriptSpec

    def execute(self, ctx: StepContext) -> Completed:
        spec = ShellScriptSpec.model_validate(ctx.spec)
        if ctx.cancelled.is_set():
            raise StepError(ErrorType.UNKNOWN, "cancelled")
        target = spec.execution_target or {}
        if spec.on_delegate is False and target.get("host"):
            raise StepError(
                ErrorType.UNKNOWN,
                "remote execution targets (executionTarget.host) are not supported: "
                "scripts run on the worker (onDelegate: true)",
            )
        deadline = Deadline(ctx.timeout)
        script, script_env = render_shell(spec.source.spec.script, ctx, spec.shell)
        user_env = {
            var.name: render_text(var.value, ctx) for var in spec.environment_variables or []
        }
        workdir = render_text(spec.working_directory, ctx) or None

        names = [v.value for v in spec.output_variables or []]
        shell = _shell_binary(spec.shell)
        tmp = tempfile.mkdtemp(prefix="orch-shell-")
        try:
            script_path = os.path.join(tmp, "script.sh")
            with open(script_path, "w", encoding="utf-8") as fh:
                fh.write(script)
            os.chmod(script_path, 0o700)
            out_path = os.path.join(tmp, "outputs")
            env = dict(os.environ)
            env.update(script_env)
            env.update(user_env)
            env[OUTPUT_FILE_ENV] = out_path
            env[OUTPUT_NAMES_ENV] = " ".join(names)
            cwd = workdir or os.path.join(tmp, "work")
            os.makedirs(cwd, exist_ok=True)
            wrapper = _BASH_WRAPPER if spec.shell == "Bash" else _sh_wrapper(names)
            rc = self._run(ctx, deadline, [shell, "-c", wrapper, script_path, script_path], env, cwd)
            code, stdout, stderr = rc
            outputs = {
                v.name: value
                for v, value in zip(spec.output_variables or [], _parse_outputs(out_path, names).values())
            }
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

        output = {"outputVariables": outputs, "exitCode": code, "stdout": stdout, "stderr": stderr}
        if code != 0:
            reason = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            message = f"script {reason}"
            tail = stderr.strip()[-MESSAGE_STDERR_CHARS:]
            if tail:
                message += f"; stderr: {tail}"
            err = StepError(ErrorType.UNKNOWN, message)
            err.output = output  # type: ignore[attr-defined]  # for callers that record it
            raise err
        return Completed(output=output)

    @staticmethod
    def _run(
        ctx: StepContext, deadline: Deadline, argv: list[str], env: dict[str, str], cwd: str
    ) -> tuple[int, str, str]:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                start_new_session=True,
                bufsize=0,
            )
        except (OSError, ValueError) as exc:
            raise StepError(ErrorType.UNKNOWN, f"cannot start {argv[0]}: {exc}") from exc
        readers = [_TailReader(proc.stdout, TAIL_BYTES), _TailReader(proc.stderr, TAIL_BYTES)]
        for reader in readers:
            reader.start()
        stop: str | None = None
        try:
            while proc.poll() is None:
                if ctx.cancelled.is_set():
                    stop = "cancelled"
                    break
                if deadline.expired():
                    stop = "timeout"
                    break
                remaining = deadline.remaining()
                ctx.cancelled.wait(POLL_INTERVAL if remaining is None else min(POLL_INTERVAL, remaining))
        finally:
            # Ends the script on timeout/cancel (or an exception here), and anything it left behind.
            if stop is not None or proc.poll() is None or _group_alive(proc.pid):
                kill_process_group(proc)
            for reader in readers:
                reader.join(timeout=KILL_GRACE)
        if stop == "timeout":
            raise StepError(ErrorType.TIMEOUT, f"script timed out after {deadline.timeout:g}s")
        if stop == "cancelled":
            raise StepError(ErrorType.UNKNOWN, "cancelled")
        return proc.returncode, readers[0].text(), readers[1].text()
