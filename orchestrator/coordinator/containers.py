"""How containers run: the core every transition builds on.

Containers (the pipeline, stages, step groups, rollback sections) run their children slot by
slot: a slot is one element of ``steps``/``stages``, and a ``parallel`` element is a slot whose
members start together. A container's record counts its finished children for the ``when`` gates
(``bad``: children that do not count for Success; ``fail``: children that count for Failure) and
remembers the most severe child status, so deciding the next step never scans its siblings.
Starting a node, finishing it, stopping a scope and finishing the run live here too.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from orchestrator.coordinator.commands import (
    AbortChild,
    CreateChild,
    NotifyParent,
    Publish,
)
from orchestrator.coordinator.statuses import (
    ACTIVE,
    COUNTS_FOR_FAILURE,
    COUNTS_FOR_SUCCESS,
    FINISHED,
    Status,
    aggregate,
    more_severe,
)
from orchestrator.coordinator.view import RunView
from orchestrator.plan.model import PIPELINE_ROLLBACK, ROOT, PlanNode
from strategies.errors import ErrorType

STEP_TIMER_KINDS = ("queued", "lost", "timeout", "retry", "wake", "approval", "intervention")
SCOPE_TIMER_KINDS = ("scope_timeout", "group_retry", "child")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


SOFT_LIMIT_GRACE = 1.0
"""Seconds past a step's timeout before Celery's soft time limit interrupts it: an executor that
enforces its own timeout (ShellScript, Http) reports first, with its output."""


def soft_time_limit_for(node: PlanNode) -> float | None:
    return node.timeout + SOFT_LIMIT_GRACE if node.timeout else None


def _sequence_id(meta: dict[str, str]) -> int | None:
    value = meta.get("sequence_id")
    return int(value) if value not in (None, "") else None


class ContainerFlow:
    """Advancing containers over a :class:`RunView`; one instance per transition attempt."""

    def __init__(self, view: RunView, settings: Any, live_queues: Any = None, queue_depth: Any = None) -> None:
        self.view = view
        self.plan = view.plan
        self.settings = settings
        self.live_queues = live_queues
        self.queue_depth = queue_depth
        self._agenda: list[str] = []

    def _rollback_done(self, owner: str, section_status: str) -> None:
        raise NotImplementedError  # strategies.actions.FailureActions

    def _drain(self) -> None:
        while self._agenda:
            self._advance(self._agenda.pop(0))

    def _slots(self, container: str) -> list[list[str]]:
        if container == PIPELINE_ROLLBACK:
            return self.view.get(container).get("slots") or []
        return self.plan.node(container).slots

    def _advance(self, container: str) -> None:
        record = self.view.get(container)
        if record["status"] != Status.RUNNING or record.get("retry_pending") or record.get("pending", 0) > 0:
            return
        if record.get("mode") and container != PIPELINE_ROLLBACK and self.plan.node(container).kind != "rollback":
            return  # being rolled back: its own children no longer advance
        slots = self._slots(container)
        cursor = int(record.get("cursor", 0))
        if cursor >= len(slots):
            self._container_complete(container, record)
            return
        slot = slots[cursor]
        record["pending"] = len(slot)
        self.view.put(container, record)
        if container == PIPELINE_ROLLBACK:
            for stage in slot:
                record = self.view.update(stage, mode="pipeline_rollback")
                if self.plan.node(stage).child_pipeline is not None:
                    if record["status"] != Status.RUNNING:
                        self._child_done(PIPELINE_ROLLBACK, stage, record["status"])
                    continue  # else: finishes when its child run does
                section = self.plan.node(stage).rollback
                if section:
                    self.view.put(section, self._container_record(self.view.get(section)))
                    self._agenda.append(section)
                else:
                    self._rollback_done(stage, Status.SUCCESS)
            return
        self.view.prefetch(slot)
        for member in slot:
            self._start_node(member)

    def _container_complete(self, container: str, record: dict[str, Any]) -> None:
        if container == ROOT:
            self._finish_run(aggregate(record.get("worst")))
        elif container == PIPELINE_ROLLBACK:
            self.view.update(container, status=Status.SUCCESS, ended_at=self.view.now)
            stages = [k for k, n in self.plan.nodes.items() if n.kind == "stage"]
            worst = None
            for stage in stages:
                status = self.view.status(stage)
                if status in FINISHED:
                    worst = more_severe(worst, status)
            self._finish_run(aggregate(worst))
        else:
            self._finish(container, aggregate(record.get("worst")))

    def _note_error(self, container: str, error_type: str, message: str | None) -> None:
        """A container shows the error type of its first failed child (SPEC §10's run document)."""
        record = self.view.get(container)
        if not record.get("error_type") and self.plan.nodes.get(container) is not None:
            self.view.update(container, error_type=error_type, message=message)

    def _child_done(self, container: str, child: str, status: str) -> None:
        record = self.view.get(container)
        if record["status"] != Status.RUNNING:
            return
        if status not in COUNTS_FOR_SUCCESS:
            record["bad"] = record.get("bad", 0) + 1
        if status in COUNTS_FOR_FAILURE:
            record["fail"] = record.get("fail", 0) + 1
        record["worst"] = more_severe(record.get("worst"), status)
        record["pending"] = max(0, record.get("pending", 0) - 1)
        if record["pending"] == 0:
            record["cursor"] = record.get("cursor", 0) + 1
            self._agenda.append(container)
        self.view.put(container, record)

    def _gate_open(self, node: PlanNode) -> bool:
        if node.gate == "All":
            return True
        bad = fail = 0
        parent = node.parent
        while parent is not None:
            record = self.view.get(parent)
            bad += record.get("bad", 0)
            fail += record.get("fail", 0)
            if node.kind == "stage" or self.plan.node(parent).kind in ("stage", "rollback"):
                break
            parent = self.plan.node(parent).parent
        return bad == 0 if node.gate == "Success" else fail > 0

    def _condition(self, node: PlanNode) -> tuple[bool, str | None]:
        """(run it?, error message if the condition could not be evaluated)."""
        if not node.condition:
            return True, None
        from orchestrator.expressions import (
            parse_condition,  # local: keeps imports light
        )
        try:
            return bool(parse_condition(node.condition).evaluate(self._resolver(node.key).resolve)), None
        except Exception as exc:  # an unresolvable reference, a bad value: the node fails
            return False, f"condition {node.condition!r}: {exc}"

    def _resolver(self, node_key: str) -> Any:
        from orchestrator.expressions import RunContextResolver
        view = self.view
        return RunContextResolver(
            plan=self.plan, node_key=node_key, run_id=view.run_id,
            outputs=view.output, status=view.status, sequence_id=_sequence_id(view.meta),
        )

    def _start_node(self, key: str) -> None:
        view = self.view
        node = self.plan.node(key)
        if not self._gate_open(node):
            self._finish(key, Status.SKIPPED)
            return
        run_it, error = self._condition(node)
        if error:
            view.update(key, error_type=ErrorType.UNKNOWN, message=error)
            self._finish(key, Status.FAILED)
            return
        if not run_it:
            self._finish(key, Status.SKIPPED)
            return
        if node.kind == "step":
            view.update(key, retries=0)
            self._queue_attempt(key, int(view.get(key).get("attempt", 0)) + 1, 0.0)
        elif node.child_pipeline is not None:
            self._start_child(node)
        else:
            view.put(key, self._container_record(view.get(key)))
            view.event(type="node", node=key, status=Status.RUNNING)
            if node.timeout:
                view.add_timer("scope_timeout", key, 0, view.now + node.timeout)
            self._agenda.append(key)

    def _start_child(self, node: PlanNode) -> None:
        view = self.view
        child_id = new_run_id()
        inputs = self._render_child_inputs(node)
        view.put(node.key, {**self._container_record(view.get(node.key)), "child_run_id": child_id,
                            "inputs": inputs})
        view.event(type="node", node=node.key, status=Status.RUNNING, child_run_id=child_id)
        view.command(CreateChild(node.key, child_id, node.child_pipeline or "", inputs))
        view.add_timer("child", node.key, 0, view.now + self.settings.child_check_interval)
        if node.timeout:
            view.add_timer("scope_timeout", node.key, 0, view.now + node.timeout)

    def _render_child_inputs(self, node: PlanNode) -> dict[str, Any]:
        if not node.child_inputs:
            return {}
        from orchestrator.expressions import render_value
        return render_value(node.child_inputs, self._resolver(node.key).resolve)

    def _queue_attempt(self, node: str, attempt: int, delay: float) -> None:
        view = self.view
        view.update(node, status=Status.QUEUED, attempt=attempt, queued_at=view.now, ended_at=None)
        view.event(type="node", node=node, status=Status.QUEUED, attempt=attempt, delay=delay or None)
        if delay > self.settings.short_retry_max:
            view.update(node, retry_at=view.now + delay)
            view.add_timer("retry", node, attempt, view.now + delay)
        else:
            self._publish(node, attempt, delay)

    def _publish(self, node: str, attempt: int, countdown: float) -> None:
        plan_node = self.plan.node(node)
        self.view.command(Publish(node, attempt, self._queue(plan_node), plan_node.step_type or "", countdown,
                                  soft_time_limit=soft_time_limit_for(plan_node)))
        self.view.add_timer("queued", node, attempt,
                            self.view.now + countdown + self.settings.provisioning_timeout)

    def _queue(self, node: PlanNode) -> str:
        return node.queue or self.settings.default_queue

    def _finish(self, key: str, status: Status) -> None:
        """A node reached a final status: record it and let its container move on."""
        view = self.view
        record = view.update(key, status=status, ended_at=view.now)
        fields = {k: record[k] for k in ("attempt", "error_type", "message", "action") if record.get(k)}
        view.event(type="node", node=key, status=status, **fields)
        node = self.plan.nodes.get(key)
        if node is None or key == PIPELINE_ROLLBACK:
            return
        if node.kind in ("stage", "group", "rollback"):
            view.del_timer("scope_timeout", key, 0)
        if node.kind == "rollback":
            self._rollback_done(node.parent or ROOT, status)
        elif node.kind == "stage" and record.get("mode") == "pipeline_rollback":
            self._child_done(PIPELINE_ROLLBACK, key, status)  # a child run awaited by the rollback
        elif node.parent is not None:
            if record.get("error_type") and status not in (Status.SUCCESS, Status.SKIPPED):
                self._note_error(node.parent, record["error_type"], record.get("message"))
            self._child_done(node.parent, key, status)

    def _stop_descendants(self, scope: str, status: Status, reset: bool = False) -> None:
        """Stop every active node under ``scope``; not-started steps become Skipped.

        With ``reset`` (RetryStepGroup) nodes go back to NotStarted instead, keeping their attempt
        numbers so that the new attempts get new task ids.
        """
        view = self.view
        keys = self.plan.descendants(scope)
        section = self.plan.node(scope).rollback
        if section and scope != ROOT:
            keys += [section, *self.plan.descendants(section)]
        view.prefetch(keys)
        for key in keys:
            record = view.get(key)
            current = record["status"]
            node = self.plan.node(key)
            attempt = int(record.get("attempt", 0))
            if current in ACTIVE:
                for kind in STEP_TIMER_KINDS:
                    view.del_timer(kind, key, attempt)
                for kind in SCOPE_TIMER_KINDS:
                    view.del_timer(kind, key, 0)
                if node.kind == "step" and current != Status.QUEUED:
                    view.attempt(key, attempt, status=status, ended_at=view.now)
                if record.get("child_run_id"):
                    view.command(AbortChild(record["child_run_id"], Status.ABORTED))
            if reset:
                if current != Status.NOT_STARTED:
                    view.put(key, {"status": Status.NOT_STARTED, "attempt": attempt})
            elif current in ACTIVE:
                view.update(key, status=status, ended_at=view.now)
                view.event(type="node", node=key, status=status)
            elif current == Status.NOT_STARTED and node.kind in ("step", "group") and not node.in_rollback:
                view.update(key, status=Status.SKIPPED)

    def _abort_run(self, status: Status, reason: str) -> None:
        view = self.view
        view.prefetch(self.plan.order)
        for key in [*self.plan.order, PIPELINE_ROLLBACK]:
            record = view.get(key)
            if record["status"] in ACTIVE:
                if record.get("child_run_id"):
                    view.command(AbortChild(record["child_run_id"], status))
                view.update(key, status=status, ended_at=view.now)
                node = self.plan.nodes.get(key)
                if node is not None and node.kind == "step" and record["status"] != Status.QUEUED:
                    view.attempt(key, int(record.get("attempt", 0)), status=status, ended_at=view.now)
        view.update(ROOT, status=status, ended_at=view.now)
        view.payload.meta["message"] = reason
        self._agenda.clear()
        self._finish_run(status)

    def _finish_run(self, status: Status) -> None:
        view = self.view
        view.update(ROOT, status=status, ended_at=view.now)
        view.payload.meta.update(status=status, ended_at=view.now)
        view.payload.clear_timers = True
        view.payload.timers_add.clear()
        view.payload.expire = int(self.settings.retention)
        view.event(type="run", status=status)
        parent = view.meta.get("parent_run_id")
        if parent:
            error_type, message = self._first_failure()
            view.command(NotifyParent(parent, view.meta.get("parent_node", ""), view.run_id, status,
                                      error_type, message))
            view.payload.meta.update(error_type=error_type or "", message=message or "")
        self._agenda.clear()

    def _first_failure(self) -> tuple[str | None, str | None]:
        self.view.prefetch(self.plan.steps)
        for key in self.plan.steps:
            record = self.view.get(key)
            if record.get("error_type") and record["status"] not in (Status.SUCCESS, Status.IGNORE_FAILED):
                return record["error_type"], record.get("message")
        return None, None

    @staticmethod
    def _container_record(previous: dict[str, Any], **extra: Any) -> dict[str, Any]:
        record = {
            "status": Status.RUNNING, "cursor": 0, "pending": 0, "bad": 0, "fail": 0, "worst": None,
            "started_at": time.time(),
        }
        if previous.get("group_attempt"):
            record["group_attempt"] = previous["group_attempt"]
        record.update(extra)
        return record

