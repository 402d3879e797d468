"""CLI commands that run and operate pipelines: run, status, list, abort, intervene, approve,
reject, worker. Registered on the app of :mod:`orchestrator.cli.app`."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from orchestrator.cli.app import app
from orchestrator.cli.render import run_view, status_text

console = Console()
err = Console(stderr=True)

RedisOption = typer.Option(None, "--redis-url", envvar="ORCHESTRATOR_REDIS_URL",
                           help="Redis holding run state (default: ORCHESTRATOR_REDIS_URL).")


def _usage_error(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _client(url: str | None) -> Any:
    from orchestrator.client import Client

    if not url:
        raise _usage_error("no Redis to talk to: set ORCHESTRATOR_REDIS_URL (or pass --redis-url)")
    return Client(url)


def _handle(client: Any, run_id: str) -> Any:
    from orchestrator.coordinator.engine import RunNotFound

    try:
        return client.run(run_id)
    except RunNotFound:
        raise _usage_error(f"no run {run_id!r} (it may have expired)") from None


def _exit_code(status: str) -> int:
    from orchestrator.coordinator.statuses import is_success_like

    return 0 if is_success_like(status) else 1


@app.command()
def run(
    pipeline: Path = typer.Argument(..., help="Pipeline YAML file."),
    inputs: Optional[Path] = typer.Option(None, "--inputs", help="Input set YAML for <+input> fields."),
    pipelines_dir: Optional[Path] = typer.Option(None, "--pipelines-dir",
                                                 help="Where chained child pipelines are found."),
    detach: bool = typer.Option(False, "--detach", help="Enqueue and return at once."),
    as_json: bool = typer.Option(False, "--json", help="Print the run document as JSON."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop waiting after this many seconds."),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """Run a pipeline and follow it (embedded Redis and workers when no Redis URL is set)."""
    from orchestrator.client import Client

    plan = Client.load(pipeline, inputs, pipelines_dir)  # bad input: exit 2 before anything starts
    if detach and not redis_url:
        raise _usage_error("--detach needs a shared Redis (ORCHESTRATOR_REDIS_URL): the embedded one "
                           "stops when this command returns")
    if not redis_url and not as_json:
        err.print("[dim]no ORCHESTRATOR_REDIS_URL: starting an embedded Redis and local workers[/dim]")
    client = Client(redis_url or None)
    try:
        handle = client.submit(plan)
        if detach:
            if as_json:
                print(json.dumps({"run_id": handle.id}))
            else:
                console.print(f"run [bold]{handle.id}[/bold] enqueued; follow it with "
                              f"`orchestrator status {handle.id}`")
            return
        try:
            doc = _follow(handle, timeout, live=console.is_terminal and not as_json)
        except KeyboardInterrupt:
            if client.embedded is not None:
                handle.abort()
                err.print(f"[yellow]interrupted: run {handle.id} aborted, embedded services stopped[/yellow]")
            else:
                err.print(f"[yellow]stopped following run {handle.id}; it goes on "
                          f"(`orchestrator abort {handle.id}` stops it)[/yellow]")
            raise typer.Exit(130) from None
        if as_json:
            print(json.dumps(doc, indent=2))
        else:
            console.print(run_view(doc, details=True))
        raise typer.Exit(_exit_code(doc["status"]))
    finally:
        client.close()


def _follow(handle: Any, timeout: float | None, live: bool) -> dict[str, Any]:
    """Wait for the run; on a terminal, redraw the node tree as events arrive."""
    from orchestrator.client import RunTimeout
    from orchestrator.coordinator.statuses import FINISHED

    if not live:
        try:
            return handle.wait(timeout)
        except RunTimeout as exc:
            raise _usage_error(str(exc)) from None
    store = handle.client.store
    deadline = None if timeout is None else time.monotonic() + timeout
    last = "0-0"
    with Live(run_view(handle.document()), console=console, refresh_per_second=8, transient=True) as view:
        while handle.status() not in FINISHED:
            if deadline is not None and time.monotonic() > deadline:
                raise _usage_error(f"run {handle.id} still {handle.status()} after {timeout}s")
            events = store.wait_events(handle.id, last, 500)
            if events:
                last = events[-1][0]
            view.update(run_view(handle.document()))
    return handle.document()


@app.command()
def status(
    run_id: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json"),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """Show a run: every node's status; for failed nodes the error type, message, attempts and action."""
    client = _client(redis_url)
    doc = _handle(client, run_id).document()
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        console.print(run_view(doc, details=True))


@app.command("list")
def list_runs(
    as_json: bool = typer.Option(False, "--json"),
    limit: int = typer.Option(50, "--limit"),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """List recent runs, newest first."""
    runs = _client(redis_url).list_runs(limit)
    if as_json:
        print(json.dumps(runs, indent=2))
        return
    table = Table("run id", "pipeline", "status", "parent")
    for entry in runs:
        table.add_row(entry["run_id"], entry["pipeline"] or "", status_text(entry["status"] or ""),
                      entry["parent_run_id"] or "")
    console.print(table)


@app.command()
def abort(run_id: str = typer.Argument(...), redis_url: Optional[str] = RedisOption) -> None:
    """Abort a run: everything running stops, nothing else starts, no rollback."""
    handle = _handle(_client(redis_url), run_id)
    if not handle.abort():
        raise _usage_error(f"run {run_id} already finished ({handle.status()})")
    console.print(f"run {run_id} aborted")


def _operator(run_id: str, redis_url: str | None, act: Any) -> None:
    from orchestrator.coordinator.transitions import OperatorError

    handle = _handle(_client(redis_url), run_id)
    try:
        act(handle)
    except OperatorError as exc:
        raise _usage_error(str(exc)) from None


@app.command()
def intervene(
    run_id: str = typer.Argument(...),
    node: str = typer.Argument(..., help="Node key, e.g. build.compile"),
    action: str = typer.Argument(..., help="Retry, Ignore, MarkAsSuccess, MarkAsFailure, Abort, "
                                           "StageRollback, StepGroupRollback or PipelineRollback"),
    redis_url: Optional[str] = RedisOption,
) -> None:
    """Answer a step waiting for manual intervention."""
    _operator(run_id, redis_url, lambda h: h.intervene(node, action))
    console.print(f"{node}: {action}")


@app.command()
def approve(run_id: str = typer.Argument(...), node: str = typer.Argument(...),
            redis_url: Optional[str] = RedisOption) -> None:
    """Approve a HarnessApproval step."""
    _operator(run_id, redis_url, lambda h: h.approve(node, by=os.environ.get("USER")))
    console.print(f"{node}: approved")


@app.command()
def reject(run_id: str = typer.Argument(...), node: str = typer.Argument(...),
           redis_url: Optional[str] = RedisOption) -> None:
    """Reject a HarnessApproval step (error type ApprovalRejection)."""
    _operator(run_id, redis_url, lambda h: h.reject(node, by=os.environ.get("USER")))
    console.print(f"{node}: rejected")


@app.command()
def worker(
    queues: Optional[str] = typer.Option(None, "--queues", "-Q", help="Comma-separated queues to consume."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", "-c"),
    pool: str = typer.Option("prefork", "--pool", help="prefork, threads or solo"),
    loglevel: str = typer.Option("INFO", "--loglevel"),
    hostname: Optional[str] = typer.Option(None, "--hostname", "-n"),
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
