"""CLI commands that run and operate pipelines: run, status, list, abort, intervene, approve,
reject, worker. Registered on the app of :mod:`orchestrator.cli.app`.

Exit codes (SPEC §10): 0 the run ended Success or IgnoreFailed; 1 it ended in any other status
(or ``--timeout`` passed first); 2 invalid input or usage: a bad pipeline or input set, an
unknown run, an operator action on a node that does not exist or is not waiting, no Redis to
talk to. Nothing is enqueued and nothing changes when the exit code is 2. 130 (128 + signal)
when ``run`` is interrupted.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from orchestrator.cli.app import app
from orchestrator.cli.output import EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED
from orchestrator.cli.output import input_errors
from orchestrator.cli.render import run_view, status_text, waiting_commands, waiting_hints

def _console(stderr: bool = False) -> Console:
    """A terminal wraps at its width; anything else (a pipe, a CI log) gets whole lines."""
    console = Console(stderr=stderr, highlight=False)
    return console if console.is_terminal else Console(stderr=stderr, highlight=False, width=1000)


class _Lazy:
    """``console.print`` resolves the stream at call time (tests swap sys.stdout)."""

    def __init__(self, stderr: bool) -> None:
        self.stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(_console(self.stderr), name)


console: Console = _Lazy(False)  # type: ignore[assignment]
err: Console = _Lazy(True)  # type: ignore[assignment]

RedisOption = typer.Option(None, "--redis-url", envvar="ORCHESTRATOR_REDIS_URL", metavar="URL",
                           help="Redis holding run state (default: $ORCHESTRATOR_REDIS_URL).")


def _usage_error(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_INVALID)


@contextmanager
def _redis_errors(url: str | None) -> Iterator[None]:
    """A Redis that cannot be reached is a clear message and exit 2, never a traceback."""
    import redis

    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        where = url or "the embedded Redis"
        raise _usage_error(f"cannot reach Redis at {where}: {exc}") from None
    except redis.AuthenticationError as exc:
        raise _usage_error(f"Redis at {url} refused the credentials: {exc}") from None


def _client(url: str | None) -> Any:
    from orchestrator.client import Client

    if not url:
        raise _usage_error("no Redis to talk to: set ORCHESTRATOR_REDIS_URL (or pass --redis-url). "
                           "Runs of the embedded default live only as long as their `orchestrator run`.")
    try:
        return Client(url)
    except ValueError as exc:  # redis-py: a malformed URL
        raise _usage_error(f"bad Redis URL {url!r}: {exc}") from None


def _handle(client: Any, run_id: str) -> Any:
    from orchestrator.coordinator.engine import RunNotFound

    try:
        return client.run(run_id)
    except RunNotFound:
        raise _usage_error(f"no run {run_id!r} in this Redis (it may have expired; "
                           "`orchestrator list` shows the runs there are)") from None


def _exit_code(status: str) -> int:
    from orchestrator.coordinator.statuses import is_success_like

    return EXIT_OK if is_success_like(status) else EXIT_RUN_FAILED


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()


# --- run ----------------------------------------------------------------------------------------
@app.command()
def run(
    pipeline: Path = typer.Argument(..., help="Pipeline YAML file."),
    inputs: Optional[Path] = typer.Option(None, "--inputs", "-i", help="Input set YAML for <+input> fields."),
    pipelines_dir: Optional[Path] = typer.Option(None, "--pipelines-dir",
                                                 help="Where chained child pipelines are found "
                                                      "(default: the pipeline file's directory)."),
    detach: bool = typer.Option(False, "--detach", help="Enqueue and return at once (needs a shared Redis)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run document as JSON (with --detach: "
                                                       "{\"run_id\": ...})."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop waiting after this many seconds "
                                                                    "(exit 1)."),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """Run a pipeline and follow it until it ends.

    With no Redis URL, an embedded Redis and local workers are started for this run and stopped
    when it ends (also on Ctrl-C, which aborts the run). On a terminal the node tree is redrawn as
    the run goes, with the command that answers any approval or intervention it waits for.
    """
    from orchestrator.client import Client

    with input_errors(as_json):  # bad input: exit 2 before anything starts
        plan = Client.load(pipeline, inputs, pipelines_dir)
    if detach and not redis_url:
        raise _usage_error("--detach needs a shared Redis (ORCHESTRATOR_REDIS_URL or --redis-url): the "
                           "embedded one stops when this command returns")
    if timeout is not None and timeout <= 0:
        raise _usage_error("--timeout must be a positive number of seconds")
    client = handle = None
    try:
        try:
            with _redis_errors(redis_url):
                if not redis_url and not as_json:
                    err.print("[dim]no ORCHESTRATOR_REDIS_URL: starting an embedded Redis and local workers[/dim]")
                try:
                    client = Client(redis_url or None)
                except ValueError as exc:
                    raise _usage_error(f"bad Redis URL {redis_url!r}: {exc}") from None
                except RuntimeError as exc:  # the embedded default could not start
                    raise _usage_error(str(exc)) from None
                handle = client.submit(plan)
                if detach:
                    if as_json:  # one line, for `RUN=$(orchestrator run --detach --json ... | jq -r .run_id)`
                        sys.stdout.write(json.dumps({"run_id": handle.id}) + "\n")
                        sys.stdout.flush()
                    else:
                        console.print(f"run [bold]{handle.id}[/bold] enqueued; follow it with "
                                      f"`orchestrator status {handle.id}`")
                    return
                embedded_url = client.redis_url if client.embedded is not None else None
                doc = _follow(handle, timeout, live=console.is_terminal and not as_json,
                              hints=err if as_json else console, hint_url=embedded_url)
                timed_out = doc is None
                if timed_out:
                    still = handle.status()
                    if client.embedded is not None:
                        handle.abort()  # the embedded Redis goes away with this command
                    doc = handle.document()
                outputs = {} if as_json else handle.outputs()
        except KeyboardInterrupt as exc:
            from orchestrator.embedded import exit_code_for, signals_ignored

            with signals_ignored():
                _interrupted(client, handle)
            raise typer.Exit(exit_code_for(exc)) from None
        if as_json:
            _print_json(doc)
        else:
            console.print(run_view(doc, details=True, outputs=outputs))
        if timed_out:
            err.print(f"[yellow]run {handle.id} still {still} after {timeout:g}s"
                      + ("; aborted (the embedded Redis stops with this command)" if client.embedded else
                         f"; it goes on (`orchestrator status {handle.id}`)") + "[/yellow]")
            raise typer.Exit(EXIT_RUN_FAILED)
        raise typer.Exit(_exit_code(doc["status"]))
    finally:
        if client is not None:
            from orchestrator.embedded import signals_ignored

            with signals_ignored():
                client.close()


def _interrupted(client: Any, handle: Any) -> None:
    """Ctrl-C (or SIGTERM/SIGHUP) while `run` works: abort an embedded run, leave a shared one."""
    if client is None or handle is None:
        err.print("[yellow]interrupted before the run started; nothing was left running[/yellow]")
        return
    if client.embedded is not None:
        try:
            handle.abort()
        except Exception:  # noqa: BLE001 - the embedded Redis goes away anyway
            pass
        err.print(f"[yellow]interrupted: run {handle.id} aborted; the embedded Redis and workers "
                  "are stopped[/yellow]")
    else:
        err.print(f"[yellow]stopped following run {handle.id}; it goes on "
                  f"(`orchestrator abort {handle.id}` stops it)[/yellow]")


def _follow(handle: Any, timeout: float | None, *, live: bool, hints: Console,
            hint_url: str | None) -> dict[str, Any] | None:
    """Wait for the run to end and return its document (None if ``timeout`` passed first).

    On a terminal (``live``) the node tree is redrawn whenever events arrive; otherwise each node
    that starts waiting for an operator gets its hint printed once (per attempt)."""
    from orchestrator.coordinator.document import run_document
    from orchestrator.coordinator.statuses import FINISHED

    store = handle.client.store
    plan = handle.plan
    deadline = None if timeout is None else time.monotonic() + timeout
    last = "0-0"
    shown: set[tuple[str, int]] = set()

    def snapshot() -> dict[str, Any]:
        return run_document(store, plan, handle.id, attempts=False)

    def waiting_outputs(doc: dict[str, Any]) -> dict[str, Any]:  # an approval's message
        return {key: store.output(handle.id, key) for key, entry in doc["nodes"].items()
                if entry["status"] == "ApprovalWaiting"}

    doc = snapshot()
    view = Live(run_view(doc, redis_url=hint_url, outputs=waiting_outputs(doc)), console=_console(),
                refresh_per_second=8,
                transient=True) if live else nullcontext()
    with view:
        while doc["status"] not in FINISHED:
            if live:
                view.update(run_view(doc, redis_url=hint_url, outputs=waiting_outputs(doc)))
            else:
                _print_new_hints(doc, hint_url, hints, shown, waiting_outputs(doc))
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            block = 1000 if remaining is None else max(1, int(min(remaining, 1.0) * 1000))
            events = store.wait_events(handle.id, last, block)
            if events:
                last = events[-1][0]
            doc = snapshot()
    return handle.document()


def _print_new_hints(doc: dict[str, Any], hint_url: str | None, out: Console,
                     shown: set[tuple[str, int]], outputs: dict[str, Any]) -> None:
    waiting = waiting_commands(doc, hint_url)
    if not waiting:
        return
    for hint, key in zip(waiting_hints(doc, hint_url, outputs), waiting):
        mark = (key, doc["nodes"][key].get("attempts", 0))
        if mark not in shown:
            shown.add(mark)
            out.print(hint)


# --- inspecting runs ----------------------------------------------------------------------------
@app.command()
def status(
    run_id: str = typer.Argument(..., help="The run id (`orchestrator list` shows them)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run document as JSON."),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """Show a run: every node's status; for failed nodes the error type, message, every attempt
    and the action applied; for waiting nodes the command that answers them."""
    client = _client(redis_url)
    try:
        with _redis_errors(redis_url):
            handle = _handle(client, run_id)
            doc = handle.document()
            if as_json:
                _print_json(doc)
            else:
                console.print(run_view(doc, details=True, outputs=handle.outputs()))
    finally:
        client.close()


@app.command("list")
def list_runs(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of runs."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many runs (newest first)."),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """List recent runs, newest first."""
    client = _client(redis_url)
    try:
        with _redis_errors(redis_url):
            runs = client.list_runs(limit)
    finally:
        client.close()
    if as_json:
        _print_json(runs)
        return
    if not runs:
        console.print("no runs")
        return
    table = Table("run id", "pipeline", "status", "created", "parent run")
    for entry in runs:
        created = datetime.fromisoformat(entry["created_at"]).astimezone().strftime("%Y-%m-%d %H:%M:%S") \
            if entry.get("created_at") else ""
        table.add_row(entry["run_id"], entry["pipeline"] or "", status_text(entry["status"] or ""),
                      created, entry["parent_run_id"] or "")
    console.print(table)


# --- operator actions ---------------------------------------------------------------------------
def _operator(run_id: str, redis_url: str | None, act: Callable[[Any], Any]) -> Any:
    """Run an operator action; a refused one (unknown node, not waiting) is exit 2, nothing changed."""
    from orchestrator.coordinator.transitions import OperatorError

    client = _client(redis_url)
    try:
        with _redis_errors(redis_url):
            handle = _handle(client, run_id)
            try:
                return act(handle)
            except OperatorError as exc:
                raise _usage_error(str(exc)) from None
    finally:
        client.close()


@app.command()
def abort(run_id: str = typer.Argument(...), redis_url: Optional[str] = RedisOption) -> None:
    """Abort a run: running steps are stopped, nothing else starts, no rollback. Exit 2 if the run
    already finished."""

    def act(handle: Any) -> None:
        if not handle.abort():
            raise _usage_error(f"run {run_id} already finished ({handle.status()}): nothing to abort")

    _operator(run_id, redis_url, act)
    console.print(f"run {run_id} aborted")


@app.command()
def intervene(
    run_id: str = typer.Argument(...),
    node: str = typer.Argument(..., help="Node key of the waiting step, e.g. build.compile"),
    action: str = typer.Argument(..., help="Retry, Ignore, MarkAsSuccess, MarkAsFailure, Abort, "
                                           "StageRollback, StepGroupRollback or PipelineRollback"),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """Answer a step waiting for manual intervention (status InterventionWaiting)."""
    _operator(run_id, redis_url, lambda h: h.intervene(node, action))
    console.print(f"{node}: {action}")


def _decide(run_id: str, node: str, redis_url: str | None, approved: bool) -> None:
    by = os.environ.get("USER")
    _operator(run_id, redis_url, lambda h: h.approve(node, by=by) if approved else h.reject(node, by=by))
    console.print(f"{node}: {'approved' if approved else 'rejected'}")


ApprovalNode = typer.Argument(..., help="Node key of the waiting approval step")


@app.command()
def approve(run_id: str = typer.Argument(...), node: str = ApprovalNode,
            redis_url: Optional[str] = RedisOption) -> None:
    """Approve a HarnessApproval step (status ApprovalWaiting)."""
    _decide(run_id, node, redis_url, approved=True)


@app.command()
def reject(run_id: str = typer.Argument(...), node: str = ApprovalNode,
           redis_url: Optional[str] = RedisOption) -> None:
    """Reject a HarnessApproval step: it ends ApprovalRejected (error type ApprovalRejection)."""
    _decide(run_id, node, redis_url, approved=False)


# --- workers ------------------------------------------------------------------------------------
@app.command()
def worker(
    queues: Optional[str] = typer.Option(None, "--queues", "-Q", help="Comma-separated queues to consume "
                                                                      "(default: orchestrator)."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", "-c", help="Parallel steps (default: "
                                                                               "CPU count)."),
    pool: str = typer.Option("prefork", "--pool", help="prefork, threads or solo"),
    loglevel: str = typer.Option("INFO", "--loglevel"),
    hostname: Optional[str] = typer.Option(None, "--hostname", "-n", help="Node name, e.g. build1@%h"),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """Start a worker node (Celery) that runs steps and fires timers."""
    from orchestrator.config import load_settings
    from workers.main import start_worker

    if not redis_url:
        raise _usage_error("a worker needs ORCHESTRATOR_REDIS_URL (or --redis-url)")
    settings = load_settings().with_redis(redis_url)
    sys.argv = [sys.argv[0]]  # Celery reads argv for some options; keep ours out of it
    start_worker(settings, queues=[q for q in (queues or "").split(",") if q] or None,
                 concurrency=concurrency, pool=pool, loglevel=loglevel, hostname=hostname)
