"""The Python client: submit runs, follow them, and act on them as an operator.

```python
from orchestrator import Client
client = Client("redis://localhost:6379/0")   # no URL: ORCHESTRATOR_REDIS_URL, else embedded
run = client.submit("pipeline.yaml", inputs={...})
doc = run.wait(timeout=600)
```
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from orchestrator.config import Settings, load_settings
from orchestrator.coordinator.document import iso, run_document
from orchestrator.coordinator.engine import Engine, RunNotFound
from orchestrator.coordinator.statuses import FINISHED, Status
from orchestrator.coordinator.transitions import OperatorError, new_run_id
from orchestrator.embedded import EmbeddedCluster
from orchestrator.plan.model import Plan
from orchestrator.state.keys import RunKeys
from orchestrator.state.store import RunStore


class RunTimeout(TimeoutError):
    pass


class Client:
    def __init__(self, url: str | None = None, *, settings: Settings | None = None,
                 embedded_workers: int = 1, embedded_concurrency: int = 2) -> None:
        settings = settings or load_settings()
        url = url or settings.redis_url
        self.embedded: EmbeddedCluster | None = None
        self.app = None
        if url is None:
            self.embedded = EmbeddedCluster(workers=embedded_workers, concurrency=embedded_concurrency).start()
            url = self.embedded.url
        try:
            self.settings = settings.with_redis(url)
            from workers.app import publishing_app
            from workers.runtime import CeleryPublisher

            self.app = publishing_app(self.settings)
            self.store = RunStore.from_url(url)
            self.engine = Engine(self.store, self.settings, CeleryPublisher(self.app))
            if self.embedded is not None:
                self.embedded.wait_for_workers(self.store)
        except BaseException:  # incl. Ctrl-C while the embedded workers start: stop what started
            self.close()
            raise

    # --- runs -----------------------------------------------------------------------------
    def submit(self, pipeline: str | Path | dict | Any, inputs: Any = None, *,
               pipelines_dir: str | Path | None = None, run_id: str | None = None) -> "RunHandle":
        """Validate, compile and start a run. Raises PipelineLoadError on bad input (nothing runs)."""
        plan = pipeline if isinstance(pipeline, Plan) else self.load(pipeline, inputs, pipelines_dir)
        run_id = self.engine.submit(plan, run_id=run_id or new_run_id())
        return RunHandle(self, run_id)

    @staticmethod
    def load(pipeline: Any, inputs: Any = None, pipelines_dir: str | Path | None = None) -> Plan:
        from orchestrator.loading import load_pipeline

        return load_pipeline(pipeline, inputs=inputs, pipelines_dir=pipelines_dir, require_inputs=True).plan

    def run(self, run_id: str) -> "RunHandle":
        if not self.store.exists(run_id):
            raise RunNotFound(run_id)
        return RunHandle(self, run_id)

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first: ``run_id, pipeline, status, parent_run_id, created_at`` (ISO 8601)."""
        runs = []
        for run_id in self.store.list_runs(limit):
            meta = self.store.meta(run_id)
            if meta:
                runs.append({"run_id": run_id, "pipeline": meta.get("pipeline"), "status": meta.get("status"),
                             "parent_run_id": meta.get("parent_run_id") or None,
                             "created_at": iso(meta.get("created_at"))})
        return runs

    @property
    def redis_url(self) -> str:
        """The Redis this client talks to (the embedded one's ``unix://`` URL when embedded)."""
        return self.settings.redis_url

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
        store = getattr(self, "store", None)
        if store is not None:
            store.redis.close()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RunHandle:
    def __init__(self, client: Client, run_id: str) -> None:
        self.client = client
        self.id = run_id

    def __repr__(self) -> str:
        return f"RunHandle({self.id!r})"

    @property
    def plan(self) -> Plan:
        return self.client.engine.plans.get(self.id)

    def status(self) -> str:
        return self.client.store.meta(self.id).get("status", Status.NOT_STARTED)

    def document(self) -> dict[str, Any]:
        return run_document(self.client.store, self.plan, self.id)

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the run finishes; return its document. Follows the run's event stream."""
        deadline = None if timeout is None else time.monotonic() + timeout
        store = self.client.store
        last = store.last_event_id(self.id)
        while self.status() not in FINISHED:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RunTimeout(f"run {self.id} still {self.status()} after {timeout}s")
            block = 1000 if remaining is None else max(1, int(min(remaining, 1.0) * 1000))
            events = store.wait_events(self.id, last, block)
            if events:
                last = events[-1][0]
        return self.document()

    def outputs(self) -> dict[str, Any]:
        """Every finished step's output document, by node key (``outputVariables``, ``stdout``, ...)."""
        raw = self.client.store.redis.hgetall(RunKeys(self.id).outputs)
        return {node: json.loads(value) for node, value in raw.items()}

    def events(self, after: str = "0-0") -> list[tuple[str, dict[str, Any]]]:
        return self.client.store.events(self.id, after)

    # --- operator actions -----------------------------------------------------------------
    def abort(self) -> bool:
        return bool(self.client.engine.run(self.id, lambda t: t.abort()))

    def intervene(self, node: str, action: str) -> None:
        self.client.engine.run(self.id, lambda t: t.intervene(node, action), prefetch=[node])

    def approve(self, node: str, by: str | None = None) -> None:
        self.client.engine.run(self.id, lambda t: t.approve(node, True, by), prefetch=[node])

    def reject(self, node: str, by: str | None = None) -> None:
        self.client.engine.run(self.id, lambda t: t.approve(node, False, by), prefetch=[node])


__all__ = ["Client", "OperatorError", "RunHandle", "RunNotFound", "RunTimeout"]
