"""The coordinator as a library: any process (a worker's task, its timer sweeper, a client) runs
transitions through it. There is no coordinator process: each transition is read, computed and
committed with a revision check (retried on conflict), then its commands are carried out.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from orchestrator.config import Settings
from orchestrator.coordinator.commands import (
    AbortChild,
    Command,
    CreateChild,
    NotifyParent,
    Publish,
)
from orchestrator.coordinator.statuses import Status
from orchestrator.coordinator.transitions import Transitions
from orchestrator.coordinator.view import RunView, StaleSnapshot
from orchestrator.plan.model import ROOT, Plan, plan_from_json, plan_to_json
from orchestrator.state.keys import parse_timer_member
from orchestrator.state.store import RunStore, Snapshot

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 200


class Publisher(Protocol):
    def publish(self, run_id: str, command: Publish) -> None: ...


class RunNotFound(KeyError):
    pass


class PlanCache:
    """Plans by run id. A plan never changes once a run is created, so caching is always safe."""

    def __init__(self, store: RunStore, size: int = 1024) -> None:
        self.store = store
        self.size = size
        self._plans: OrderedDict[str, Plan] = OrderedDict()

    def get(self, run_id: str) -> Plan:
        plan = self._plans.get(run_id)
        if plan is None:
            raw = self.store.plan_json(run_id)
            if raw is None:
                raise RunNotFound(run_id)
            plan = plan_from_json(raw)
            self._plans[run_id] = plan
            if len(self._plans) > self.size:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(run_id)
        return plan

    def put(self, run_id: str, plan: Plan) -> None:
        self._plans[run_id] = plan

    @staticmethod
    def output_prefetch(plan: Plan, node: str) -> list[str]:
        """Nodes whose outputs the step's spec refers to (fetched with its start, in one trip)."""
        def compute() -> list[str]:
            from orchestrator.expressions import output_references

            return sorted(output_references(plan.node(node).spec or {}, plan, node))

        return plan.derived("outputs", node, compute)

    @staticmethod
    def status_prefetch(plan: Plan, node: str) -> list[str]:
        """Nodes whose status the step's spec refers to (``<+pipeline.stages.S.status>``)."""
        def compute() -> list[str]:
            from orchestrator.expressions import status_references

            return sorted(status_references(plan.node(node).spec or {}, plan, node))

        return plan.derived("statuses", node, compute)

    @staticmethod
    def finish_prefetch(plan: Plan, node: str) -> list[str]:
        """Records a step's completion will most likely touch: the step, its containers, and the
        members of the slot that follows it in each container (read in the same round trip as the
        step's start, so that completing a step usually costs a single commit)."""
        def compute() -> list[str]:
            keys = [node]
            child = node
            for container in plan.ancestors(node):
                keys.append(container)
                slots = plan.node(container).slots
                for index, slot in enumerate(slots):
                    if child in slot:
                        if index + 1 < len(slots):
                            keys.extend(slots[index + 1])
                        break
                child = container
            return keys

        return plan.derived("finish", node, compute)


class Engine:
    def __init__(self, store: RunStore, settings: Settings, publisher: Publisher,
                 live_queues: Callable[[], set[str]] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.publisher = publisher
        self.plans = PlanCache(store)
        self.live_queues = live_queues or (lambda: store.live_queues(settings.worker_ttl))
        # Messages waiting in a queue can be counted when Celery's broker is this same Redis.
        same_redis = settings.broker_url in (None, settings.redis_url)
        self.queue_depth: Callable[[str], int | None] = store.queue_depth if same_redis else (lambda _: None)

    # --- the transaction loop -------------------------------------------------------------
    def transact(
        self, run_id: str, apply: Callable[[Transitions], Any], *, snapshot: Snapshot | None = None,
        prefetch: list[str] | tuple[str, ...] = (),
    ) -> tuple[Any, list[Command]]:
        """Run ``apply`` against a consistent view of the run and commit it atomically.

        On a revision conflict (another event of the same run committed first) the whole
        transition is recomputed from a fresh read; the result is as if events were serial.
        """
        plan = self.plans.get(run_id)
        wanted = list(prefetch)
        for _ in range(MAX_CONFLICT_RETRIES):
            if snapshot is None:
                snapshot = self.store.read(run_id, [ROOT, *wanted])
            view = RunView(self.store, plan, snapshot)
            try:
                result = apply(Transitions(view, self.settings, self.live_queues, self.queue_depth))
            except StaleSnapshot:
                wanted = sorted(set(wanted) | view.read_keys)
                snapshot = None
                continue
            if view.payload.is_empty():
                return result, []
            committed, _ = self.store.commit(run_id, snapshot.rev, view.payload)
            if committed:
                return result, view.commands
            wanted = sorted(set(wanted) | view.read_keys)
            snapshot = None
        raise RuntimeError(f"run {run_id}: gave up after {MAX_CONFLICT_RETRIES} conflicting commits")

    def run(self, run_id: str, apply: Callable[[Transitions], Any], **kwargs: Any) -> Any:
        """``transact`` and then carry out the commands."""
        result, commands = self.transact(run_id, apply, **kwargs)
        self.dispatch(run_id, commands)
        return result

    # --- commands -------------------------------------------------------------------------
    def dispatch(self, run_id: str, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, Publish):
                self.publisher.publish(run_id, command)
            elif isinstance(command, CreateChild):
                self._create_child(run_id, command)
            elif isinstance(command, NotifyParent):
                self._notify_parent(command)
            elif isinstance(command, AbortChild):
                if self.store.exists(command.child_run_id):
                    self.run(command.child_run_id, lambda t, s=command.status: t.abort(Status(s), "parent stopped"))

    def _create_child(self, parent_run_id: str, command: CreateChild) -> None:
        parent_plan = self.plans.get(parent_run_id)
        child_plan = parent_plan.children.get(command.pipeline)
        if child_plan is None:
            raise RuntimeError(f"run {parent_run_id}: child pipeline {command.pipeline!r} missing from the plan")
        child_plan = with_child_inputs(child_plan, command.inputs, parent_plan.children)
        self.submit(child_plan, run_id=command.child_run_id, parent_run_id=parent_run_id,
                    parent_node=command.stage)

    def _notify_parent(self, command: NotifyParent) -> None:
        self.run(command.parent_run_id, lambda t: t.child_finished(
            command.parent_node, command.child_run_id, command.status, command.error_type, command.message))

    # --- entry points ---------------------------------------------------------------------
    def submit(self, plan: Plan, *, run_id: str, parent_run_id: str | None = None,
               parent_node: str | None = None, inputs: Any = None) -> str:
        meta: dict[str, Any] = {"pipeline": plan.pipeline, "name": plan.name, "status": Status.QUEUED,
                                "sequence_id": self.store.next_sequence_id(plan.pipeline)}
        if parent_run_id:
            meta.update(parent_run_id=parent_run_id, parent_node=parent_node or "")
        if plan.source:
            meta["source"] = plan.source
        if self.store.create_run(run_id, plan_to_json(plan), meta):
            self.plans.put(run_id, plan)
        self.run(run_id, lambda t: t.start_run())
        return run_id

    def step_finished(self, run_id: str, node: str, attempt: int, outcome: dict[str, Any],
                      snapshot: Snapshot | None = None) -> list[Command]:
        _, commands = self.transact(run_id, lambda t: t.step_finished(node, attempt, outcome),
                                    snapshot=snapshot, prefetch=self.plans.finish_prefetch(self.plans.get(run_id), node))
        return commands

    def fire_timer(self, member: str) -> None:
        run_id, kind, node, attempt = parse_timer_member(member)
        try:
            handled = self.run(run_id, lambda t: t.timer_fired(kind, node, attempt), prefetch=[node])
        except RunNotFound:
            handled = False
        if not handled:
            self.store.drop_timer(run_id, member)


def with_child_inputs(child: Plan, inputs: dict[str, Any], children: dict[str, Plan]) -> Plan:
    """Apply a ``type: Pipeline`` stage's rendered ``inputs`` (an input set) to the child plan.

    Pipeline variables are what chained pipelines pass in practice; they are applied here to the
    compiled child. The child's own children travel with it.
    """
    variables = dict(child.variables)
    for entry in (inputs or {}).get("variables") or []:
        if isinstance(entry, dict) and "name" in entry:
            variables[entry["name"]] = entry.get("value")
    return child.model_copy(update={"variables": variables, "children": {**children, **child.children}})
