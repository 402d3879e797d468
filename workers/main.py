"""Start a worker node: ``orchestrator worker`` and the embedded default both come here."""

from __future__ import annotations

from orchestrator.config import Settings, load_settings


def start_worker(settings: Settings | None = None, *, queues: list[str] | None = None,
                 concurrency: int | None = None, pool: str = "prefork", loglevel: str = "INFO",
                 hostname: str | None = None) -> None:
    from workers.app import configure

    settings = settings or load_settings()
    app = configure(settings)
    options: dict = {"loglevel": loglevel, "pool": pool, "without_mingle": True, "without_gossip": True,
                     "quiet": loglevel.upper() in ("WARNING", "ERROR", "CRITICAL")}
    if queues:
        options["queues"] = queues
    if concurrency:
        options["concurrency"] = concurrency
    if hostname:
        options["hostname"] = hostname
    worker = app.Worker(**options)
    worker.start()
    raise SystemExit(worker.exitcode)
