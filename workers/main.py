"""Start a worker node: ``orchestrator worker`` and the embedded default both come here.

A worker node is one Celery main process (consumer, timer sweeper, announcements in
``orch:workers``) plus its pool processes, which run the steps. ``queues`` are the Celery queues
it consumes: ``delegateSelectors: [gpu]`` in a pipeline routes a step to queue ``gpu``, so a node
started with ``--queues gpu`` is the delegate for it. Without queues it consumes the default queue.

Stopping: SIGTERM (or SIGINT) to the *main* process is Celery's warm shutdown — the node stops
taking messages, finishes the steps it is running (they record their outcome as usual) and hands
every message it had prefetched but not started back to the queue. SIGQUIT (or a second Ctrl-C)
is a cold shutdown: running steps are lost and detected by their ``lost`` timer.
"""

from __future__ import annotations

from celery.utils.nodenames import default_nodename, host_format

from orchestrator.config import Settings, load_settings


def node_name(hostname: str | None) -> str:
    """``gpu@%h`` -> ``gpu@<this host>``, ``None`` -> ``celery@<this host>`` (Celery's CLI rules)."""
    return host_format(default_nodename(hostname))


def parse_queues(queues: str | list[str] | None) -> list[str] | None:
    if queues is None:
        return None
    items = queues.split(",") if isinstance(queues, str) else queues
    cleaned = [q.strip() for q in items if q and q.strip()]
    return list(dict.fromkeys(cleaned)) or None


def start_worker(settings: Settings | None = None, *, queues: list[str] | str | None = None,
                 concurrency: int | None = None, pool: str = "prefork", loglevel: str = "INFO",
                 hostname: str | None = None) -> None:
    from workers import kombu_fixes
    from workers.app import configure

    kombu_fixes.apply()
    settings = settings or load_settings()
    app = configure(settings)
    options: dict = {"loglevel": loglevel, "pool": pool, "without_mingle": True, "without_gossip": True,
                     "quiet": loglevel.upper() in ("WARNING", "ERROR", "CRITICAL"),
                     "hostname": node_name(hostname)}
    selected = parse_queues(queues)
    if selected:
        options["queues"] = selected
    if concurrency:
        options["concurrency"] = concurrency
    worker = app.Worker(**options)
    worker.start()
    raise SystemExit(worker.exitcode)
