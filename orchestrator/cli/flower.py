"""``orchestrator flower``: Flower for the configured broker, always behind authentication.

Flower shows every worker node and every step task (``orchestrator.step.<Type>``, arguments
``(run_id, node, attempt)``, task id ``run:node:attempt``), so one run's tasks can be found by its
run id. Workers send task events (``ORCHESTRATOR_TASK_EVENTS``, on by default) and Flower also asks
them to (``enable_events``), so a worker started with events off shows up too.

Flower is started in this process through Celery's own ``celery flower`` command, on the
orchestrator's Celery app configured from the environment (``ORCHESTRATOR_REDIS_URL``,
``ORCHESTRATOR_BROKER_URL``). Its basic-auth credentials are handed over in Flower's
``FLOWER_BASIC_AUTH`` environment variable, never on a command line that ``ps`` shows.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from orchestrator.cli.app import app
from orchestrator.cli.output import EXIT_INVALID, print_problem

AUTH_ENV = "ORCHESTRATOR_FLOWER_AUTH"


def parse_basic_auth(value: str | None) -> list[str]:
    """``user:password[,user2:password2]`` -> entries; raises ValueError naming what is wrong."""
    if value is None or not value.strip():
        raise ValueError(f"Flower needs authentication: pass --basic-auth user:password or set {AUTH_ENV} "
                         "(several users: user1:pass1,user2:pass2)")
    entries = [entry.strip() for entry in value.split(",")]
    for number, entry in enumerate(entries, 1):
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:  # the entry itself is not shown: it may be a password
            raise ValueError(f"--basic-auth / {AUTH_ENV}: entry {number} of {len(entries)} is not "
                             "user:password with both parts non-empty")
    return entries


@app.command()
def flower(
    port: int = typer.Option(5555, "--port", help="Port of Flower's web UI and API."),
    address: str = typer.Option("127.0.0.1", "--address",
                                help="Address to listen on (0.0.0.0 for every interface, e.g. in a container)."),
    basic_auth: Optional[str] = typer.Option(
        None, "--basic-auth", envvar=AUTH_ENV, show_envvar=True,
        help="Required: user:password (comma-separated for several users)."),
    url_prefix: Optional[str] = typer.Option(None, "--url-prefix", help="Serve under this path (behind a proxy)."),
    redis_url: Optional[str] = typer.Option(None, "--redis-url", envvar="ORCHESTRATOR_REDIS_URL",
                                            help="Redis of the deployment (default: ORCHESTRATOR_REDIS_URL)."),
) -> None:
    """Start Flower (web UI and API of the workers and their tasks), with basic auth required."""
    try:
        entries = parse_basic_auth(basic_auth)
    except ValueError as exc:
        print_problem(f"error: {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    if not redis_url:
        print_problem("error: Flower needs the deployment's Redis: set ORCHESTRATOR_REDIS_URL (or pass --redis-url)")
        raise typer.Exit(EXIT_INVALID)
    if not 0 < port < 65536:
        print_problem(f"error: --port {port} is not a TCP port")
        raise typer.Exit(EXIT_INVALID)

    from orchestrator.config import load_settings
    from workers import kombu_fixes
    from workers.app import configure

    kombu_fixes.apply()
    celery_app = configure(load_settings().with_redis(redis_url))
    celery_app.set_current()
    # Flower reads FLOWER_* variables; nothing else may switch its API to unauthenticated.
    for name in [n for n in os.environ if n.startswith("FLOWER_")]:
        del os.environ[name]
    os.environ["FLOWER_BASIC_AUTH"] = ",".join(entries)
    flower_args = ["flower", f"--port={port}", f"--address={address}", "--enable_events=True"]
    if url_prefix:
        flower_args.append(f"--url_prefix={url_prefix}")

    from celery.bin.celery import celery as celery_command

    sys.argv = [sys.argv[0]]
    celery_command.main(args=flower_args, prog_name="orchestrator flower")
