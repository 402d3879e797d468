"""Plain Celery tasks on the orchestrator's own app, the baseline every benchmark compares with."""

from __future__ import annotations

from workers.app import app


@app.task(name="bench.noop")
def noop(*_: object) -> None:
    return None


def noop_step() -> None:
    """The no-op Python step (``spec.function: bench.plain_tasks:noop_step``)."""
    return None
