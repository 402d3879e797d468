"""A transition's window on one run: reads through a snapshot, buffers every write."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from orchestrator.coordinator.commands import Command
from orchestrator.plan.model import Plan
from orchestrator.state.keys import timer_member
from orchestrator.state.store import Payload, RunStore, Snapshot

NOT_STARTED: dict[str, Any] = {"status": "NotStarted"}


class StaleSnapshot(Exception):
    """The run changed while a transition was reading it lazily: start over from a fresh read."""


class RunView:
    def __init__(self, store: RunStore, plan: Plan, snapshot: Snapshot, now: float | None = None) -> None:
        self.store = store
        self.plan = plan
        self.run_id = snapshot.run_id
        self.snapshot = snapshot
        self.rev = snapshot.rev
        self.meta = snapshot.meta
        self.now = now if now is not None else time.time()
        self._nodes = dict(snapshot.nodes)
        self._outputs = dict(snapshot.outputs)
        self.payload = Payload()
        self.commands: list[Command] = []
        self.read_keys: set[str] = set(snapshot.nodes)

    # --- reads ----------------------------------------------------------------------------
    def prefetch(self, keys: Iterable[str]) -> None:
        missing = [k for k in keys if k not in self._nodes and k not in self.payload.nodes]
        if not missing:
            return
        fresh = self.store.read(self.run_id, missing)
        if fresh.rev != self.rev:
            raise StaleSnapshot()
        self._nodes.update(fresh.nodes)
        self.read_keys.update(missing)

    def get(self, key: str) -> dict[str, Any]:
        """The node's current record (a copy: change it and ``put`` it back)."""
        if key in self.payload.nodes:
            return dict(self.payload.nodes[key])
        if key not in self._nodes:
            self.prefetch([key])
        return dict(self._nodes.get(key) or NOT_STARTED)

    def status(self, key: str) -> str:
        return self.get(key)["status"]

    def output(self, key: str) -> Any:
        if key in self.payload.outputs:
            return self.payload.outputs[key]
        if key not in self._outputs:
            fresh = self.store.read(self.run_id, [], [key])
            if fresh.rev != self.rev:
                raise StaleSnapshot()
            self._outputs.update(fresh.outputs)
        return self._outputs.get(key)

    # --- writes ---------------------------------------------------------------------------
    def put(self, key: str, record: dict[str, Any]) -> dict[str, Any]:
        self.payload.nodes[key] = record
        return record

    def update(self, key: str, **fields: Any) -> dict[str, Any]:
        record = self.get(key)
        record.update(fields)
        return self.put(key, record)

    def set_output(self, key: str, output: Any) -> None:
        self.payload.outputs[key] = output

    def attempt(self, node: str, attempt: int, **fields: Any) -> None:
        field = f"{node}#{attempt}"
        record = self.payload.attempts.get(field)
        if record is None:
            record = {"attempt": attempt}
            self.payload.attempts[field] = record
        record.update(fields)

    def event(self, **fields: Any) -> None:
        self.payload.events.append({"at": self.now, **fields})

    def add_timer(self, kind: str, node: str, attempt: int, at: float) -> None:
        self.payload.timers_add[timer_member(self.run_id, kind, node, attempt)] = at

    def del_timer(self, kind: str, node: str, attempt: int) -> None:
        member = timer_member(self.run_id, kind, node, attempt)
        self.payload.timers_add.pop(member, None)
        self.payload.timers_del.add(member)

    def command(self, command: Command) -> None:
        self.commands.append(command)
