"""How a run moves: every event (a step attempt finished, a timer fired, an operator acted) as a
transition over a :class:`RunView`. Nothing here talks to Celery or commits; the caller commits the
view's payload atomically and then carries out its commands (see :mod:`engine`).

Containers (the pipeline, stages, step groups, rollback sections) run their children slot by
slot: a slot is one element of ``steps``/``stages``, and a ``parallel`` element is a slot whose
members start together. A container's record counts its finished children for the ``when`` gates
(``bad``: children that do not count for Success; ``fail``: children that count for Failure) and
remembers the most severe child status, so deciding the next step never scans its siblings.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from orchestrator.coordinator.commands import AbortChild, CreateChild, NotifyParent, Publish
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
from orchestrator.model.common import parse_duration
from orchestrator.plan.model import PIPELINE_ROLLBACK, ROOT, PlanNode
from strategies.errors import ErrorType

STEP_TIMER_KINDS = ("queued", "lost", "timeout", "retry", "wake", "approval", "intervention")
SCOPE_TIMER_KINDS = ("scope_timeout", "group_retry", "child")
OPERATOR_ACTIONS = frozenset({
    "MarkAsSuccess", "Ignore", "Retry", "Abort", "StageRollback", "StepGroupRollback",
    "PipelineRollback", "MarkAsFailure",
})


class OperatorError(Exception):
    """An operator action that does not apply (unknown node, node not waiting): nothing changes."""


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


def _sequence_id(meta: dict[str, str]) -> int | None:
    value = meta.get("sequence_id")
    return int(value) if value not in (None, "") else None


def failure_status(error_type: str | None) -> Status:
    if error_type == ErrorType.TIMEOUT:
        return Status.EXPIRED
    if error_type == ErrorType.APPROVAL_REJECTION:
        return Status.APPROVAL_REJECTED
    return Status.FAILED


class Transitions:
    """Applies events to one run. Create one per transition attempt (it holds the agenda)."""

    def __init__(self, view: RunView, settings: Any, live_queues: Any = None, queue_depth: Any = None) -> None:
        self.view = view
        self.plan = view.plan
        self.settings = settings
        self.live_queues = live_queues
        self.queue_depth = queue_depth
        self._agenda: list[str] = []

    # ======================================================================================
    # events
    # ======================================================================================
    def start_run(self) -> None:
        view = self.view
        if view.status(ROOT) != Status.NOT_STARTED:
            return
        view.put(ROOT, self._container_record(view.get(ROOT)))
        view.payload.meta.update(status=Status.RUNNING, started_at=view.now)
        view.event(type="run", status=Status.RUNNING)
        if self.plan.timeout:
            view.add_timer("run_timeout", ROOT, 0, view.now + self.plan.timeout)
        self._agenda.append(ROOT)
        self._drain()

    def step_finished(self, node: str, attempt: int, outcome: dict[str, Any]) -> bool:
        """``outcome``: {"result": "success"|"failure"|"suspended", ...}. False when stale."""
        view = self.view
        record = view.get(node)
        if record["status"] != Status.RUNNING or record.get("attempt") != attempt:
            return False
        view.del_timer("lost", node, attempt)
        kind = outcome["result"]
        if kind == "success":
            view.del_timer("timeout", node, attempt)
            output = outcome.get("output") or {}
            view.attempt(node, attempt, status=Status.SUCCESS, ended_at=view.now, output=output)
            view.set_output(node, output)
            self._finish(node, Status.SUCCESS)
        elif kind == "suspended":
            status = outcome["status"]
            view.update(node, status=status, wake=outcome.get("on_wake"))
            view.attempt(node, attempt, status=status, output=outcome.get("output") or {})
            if outcome.get("output"):
                view.set_output(node, outcome["output"])
            view.event(type="node", node=node, status=status, attempt=attempt)
            if outcome.get("wake_after") is not None:
                timer = "wake" if outcome.get("on_wake") == "succeed" else "approval"
                view.add_timer(timer, node, attempt, view.now + float(outcome["wake_after"]))
        else:
            view.del_timer("timeout", node, attempt)
            self._fail_attempt(node, attempt, outcome["error_type"], outcome.get("message", ""),
                               output=outcome.get("output"))
        self._drain()
        return True

    def timer_fired(self, kind: str, node: str, attempt: int) -> bool:
        """Handle a due timer. False when it no longer applies (the caller just drops it)."""
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return False
        self.view.del_timer(kind, node, attempt)  # before the handler, which may re-arm it
        handled = handler(node, attempt)
        if handled:
            self._drain()
        return bool(handled)

    def intervene(self, node: str, action_type: str) -> None:
        view = self.view
        if node not in self.plan.nodes or self.plan.node(node).kind != "step":
            raise OperatorError(f"no step {node!r} in run {view.run_id}")
        if action_type not in OPERATOR_ACTIONS:
            raise OperatorError(f"unknown action {action_type!r}; choose one of {', '.join(sorted(OPERATOR_ACTIONS))}")
        record = view.get(node)
        if record["status"] != Status.INTERVENTION_WAITING:
            raise OperatorError(f"step {node!r} is not waiting for intervention (status {record['status']})")
        if self.plan.node(node).in_rollback and action_type.endswith("Rollback"):
            raise OperatorError(f"step {node!r} is a rollback step: rollback actions do not apply")
        attempt = record["attempt"]
        view.del_timer("intervention", node, attempt)
        error_type = record.get("error_type") or ErrorType.UNKNOWN
        if action_type == "MarkAsFailure":
            error_type = ErrorType.USER_MARKED_FAILURE
            view.update(node, error_type=error_type, message="marked as failed by an operator")
        view.event(type="intervention", node=node, action=action_type)
        self._apply(node, {"type": action_type}, error_type, record.get("message", ""), operator=True)
        self._drain()

    def approve(self, node: str, approved: bool, by: str | None = None) -> None:
        view = self.view
        if node not in self.plan.nodes or self.plan.node(node).kind != "step":
            raise OperatorError(f"no step {node!r} in run {view.run_id}")
        record = view.get(node)
        if record["status"] != Status.APPROVAL_WAITING:
            raise OperatorError(f"step {node!r} is not waiting for approval (status {record['status']})")
        attempt = record["attempt"]
        view.del_timer("approval", node, attempt)
        view.del_timer("timeout", node, attempt)
        if approved:
            view.attempt(node, attempt, status=Status.SUCCESS, ended_at=view.now, approved_by=by)
            output = {**(view.output(node) or {}), "approved": True, "approvedBy": by}
            view.set_output(node, output)
            self._finish(node, Status.SUCCESS)
        else:
            self._fail_attempt(node, attempt, ErrorType.APPROVAL_REJECTION, f"rejected by {by or 'an operator'}")
        self._drain()

    def abort(self, status: Status = Status.ABORTED, reason: str = "aborted by an operator") -> bool:
        if self.view.meta.get("status") in FINISHED:
            return False
        self._abort_run(status, reason)
        self._drain()
        return True

    def child_finished(self, stage: str, child_run_id: str, status: str, error_type: str | None,
                       message: str | None) -> bool:
        record = self.view.get(stage)
        if record["status"] != Status.RUNNING or record.get("child_run_id") != child_run_id:
            return False
        self.view.del_timer("child", stage, 0)
        if status in (Status.SUCCESS, Status.IGNORE_FAILED):
            self._finish(stage, Status(status))
        else:
            self.view.update(stage, error_type=error_type, message=message)
            action = self.plan.node(stage).strategies.get(error_type or ErrorType.UNKNOWN)
            self._scope_failed(stage, action, Status(status), error_type, message)
        self._drain()
        return True

    # ======================================================================================
    # timers
    # ======================================================================================
    def _on_queued(self, node: str, attempt: int) -> bool:
        record = self.view.get(node)
        if record["status"] != Status.QUEUED or record.get("attempt") != attempt:
            return False
        plan_node = self.plan.node(node)
        queue = self._queue(plan_node)
        consumed = self.live_queues() if self.live_queues else set()
        if queue not in consumed:
            self._fail_attempt(node, attempt, ErrorType.DELEGATE_PROVISIONING,
                               f"no worker consumes queue {queue!r} "
                               f"(waited {self.settings.provisioning_timeout:g}s)")
            return True
        # A worker consumes the queue. If the queue still holds messages, the step is only waiting
        # its turn; if it is empty, the message may have been lost (a process died between commit
        # and publish, or a commit's reply was lost): publish again. A duplicate is harmless,
        # attempts start exactly once.
        depth = self.queue_depth(queue) if self.queue_depth else None
        if not depth:
            self.view.command(Publish(node, attempt, queue, plan_node.step_type or ""))
        self.view.add_timer("queued", node, attempt, self.view.now + self.settings.provisioning_timeout)
        return True

    def _on_lost(self, node: str, attempt: int) -> bool:
        record = self.view.get(node)
        if record["status"] != Status.RUNNING or record.get("attempt") != attempt:
            return False
        self.view.del_timer("timeout", node, attempt)
        self._fail_attempt(node, attempt, ErrorType.DELEGATE_RESTART,
                           f"worker {record.get('worker', '?')} stopped reporting for "
                           f"{self.settings.lost_step_timeout:g}s (lost mid-step)")
        return True

    def _on_timeout(self, node: str, attempt: int) -> bool:
        record = self.view.get(node)
        if record["status"] not in (Status.RUNNING, Status.APPROVAL_WAITING) or record.get("attempt") != attempt:
            return False
        for kind in ("lost", "wake", "approval"):
            self.view.del_timer(kind, node, attempt)
        timeout = self.plan.node(node).timeout or 0
        self._fail_attempt(node, attempt, ErrorType.TIMEOUT, f"step timed out after {timeout:g}s")
        return True

    def _on_retry(self, node: str, attempt: int) -> bool:
        record = self.view.get(node)
        if record["status"] != Status.QUEUED or record.get("attempt") != attempt:
            return False
        self._publish(node, attempt, 0.0)
        return True

    def _on_wake(self, node: str, attempt: int) -> bool:
        record = self.view.get(node)
        if record["status"] != Status.RUNNING or record.get("attempt") != attempt:
            return False
        self.view.del_timer("timeout", node, attempt)
        self.view.attempt(node, attempt, status=Status.SUCCESS, ended_at=self.view.now)
        self._finish(node, Status.SUCCESS)
        return True

    def _on_approval(self, node: str, attempt: int) -> bool:
        record = self.view.get(node)
        if record["status"] != Status.APPROVAL_WAITING or record.get("attempt") != attempt:
            return False
        self.view.del_timer("timeout", node, attempt)
        self._fail_attempt(node, attempt, ErrorType.TIMEOUT, "approval timed out")
        return True

    def _on_intervention(self, node: str, attempt: int) -> bool:
        record = self.view.get(node)
        if record["status"] != Status.INTERVENTION_WAITING or record.get("attempt") != attempt:
            return False
        action = record.get("on_timeout") or {"type": "MarkAsFailure"}
        self.view.event(type="intervention", node=node, action=action.get("type"), reason="timeout")
        self._apply(node, action, record.get("error_type") or ErrorType.UNKNOWN, record.get("message", ""))
        return True

    def _on_scope_timeout(self, scope: str, _: int) -> bool:
        if self.view.status(scope) != Status.RUNNING:
            return False
        self._stop_descendants(scope, Status.EXPIRED)
        timeout = self.plan.node(scope).timeout or 0
        message = f"{self.plan.node(scope).kind} timed out after {timeout:g}s"
        self.view.update(scope, error_type=ErrorType.TIMEOUT, message=message)
        action = self.plan.node(scope).strategies.get(ErrorType.TIMEOUT)
        self._scope_failed(scope, action, Status.EXPIRED, ErrorType.TIMEOUT, message)
        return True

    def _on_run_timeout(self, _: str, __: int) -> bool:
        if self.view.meta.get("status") in FINISHED:
            return False
        self._abort_run(Status.EXPIRED, f"pipeline timed out after {self.plan.timeout or 0:g}s")
        return True

    def _on_group_retry(self, group: str, group_attempt: int) -> bool:
        record = self.view.get(group)
        if record["status"] != Status.RUNNING or record.get("group_attempt") != group_attempt \
                or not record.get("retry_pending"):
            return False
        self.view.update(group, retry_pending=False)
        self._agenda.append(group)
        return True

    def _on_child(self, stage: str, _: int) -> bool:
        """Guard for a child run: re-create it if its creation was lost, re-arm while it runs."""
        record = self.view.get(stage)
        child = record.get("child_run_id")
        if record["status"] != Status.RUNNING or not child:
            return False
        child_meta = self.view.store.meta(child)
        if not child_meta:
            plan_node = self.plan.node(stage)
            self.view.command(CreateChild(stage, child, plan_node.child_pipeline or "", record.get("inputs") or {}))
        elif child_meta.get("status") in FINISHED:
            self.child_finished(stage, child, child_meta["status"], child_meta.get("error_type"),
                                child_meta.get("message"))
            return True
        self.view.add_timer("child", stage, 0, self.view.now + self.settings.child_check_interval)
        return True

    # ======================================================================================
    # failures and actions
    # ======================================================================================
    def _fail_attempt(self, node: str, attempt: int, error_type: str, message: str,
                      output: dict | None = None) -> None:
        status = failure_status(error_type)
        fields: dict[str, Any] = dict(status=status, ended_at=self.view.now, error_type=str(error_type),
                                      message=message)
        if output:
            fields["output"] = output
            self.view.set_output(node, output)  # later steps may read a failed step's outputs
        self.view.attempt(node, attempt, **fields)
        self.view.update(node, error_type=str(error_type), message=message)
        action = self.plan.node(node).strategies.get(str(error_type))
        self._apply(node, action, str(error_type), message)

    def _apply(self, node: str, action: dict[str, Any] | None, error_type: str, message: str,
               operator: bool = False) -> None:
        """Carry out a failure action for a step (SPEC §6, §8). ``None``: no strategy matched."""
        view = self.view
        record = view.get(node)
        attempt = record.get("attempt", 0)
        kind = action["type"] if action else None
        failed = failure_status(error_type)
        if kind is not None:
            view.attempt(node, attempt, action=kind)
            view.update(node, action=kind)
        if kind is None or kind == "MarkAsFailure":
            self._finish(node, failed)
        elif kind == "Ignore":
            self._finish(node, Status.IGNORE_FAILED)
        elif kind in ("MarkAsSuccess", "ProceedWithDefaultValues"):
            self._finish(node, Status.SUCCESS)
        elif kind == "Abort":
            # the failure stays visible on the node, unless an operator chose to abort
            view.update(node, status=Status.ABORTED if operator else failed, ended_at=view.now)
            reason = f"aborted by an operator at {node}" if operator else \
                f"aborted by the failure strategy of {node}: {message}"
            self._abort_run(Status.ABORTED, reason)
        elif kind == "Retry":
            self._retry(node, attempt, action, error_type, message, operator)
        elif kind == "RetryStepGroup":
            self._retry_group(node, action, error_type, message)
        elif kind == "ManualIntervention":
            spec = action.get("spec") or {}
            wait = parse_duration(spec.get("timeout", "0s"))
            on_timeout = (spec.get("onTimeout") or {}).get("action")
            view.update(node, status=Status.INTERVENTION_WAITING, on_timeout=on_timeout)
            view.event(type="node", node=node, status=Status.INTERVENTION_WAITING, attempt=attempt,
                       error_type=error_type, message=message)
            view.add_timer("intervention", node, attempt, view.now + wait)
        elif kind in ("StageRollback", "StepGroupRollback", "PipelineRollback"):
            view.update(node, status=failed, ended_at=view.now)
            view.event(type="node", node=node, status=failed, attempt=attempt, error_type=error_type,
                       message=message, action=kind)
            for container in self.plan.ancestors(node)[:-1]:  # up to its stage, not the pipeline
                self._note_error(container, error_type, message)
            self._rollback(node, kind)
        else:  # validated away; be safe
            self._finish(node, failed)

    def _retry(self, node: str, attempt: int, action: dict, error_type: str, message: str,
               operator: bool) -> None:
        if operator:  # an operator's Retry runs one more attempt now, whatever the counts
            self._queue_attempt(node, attempt + 1, 0.0)
            return
        spec = action.get("spec") or {}
        done = int(self.view.get(node).get("retries", 0))  # strategy retries since the node started
        if done < int(spec.get("retryCount", 0)):
            intervals = spec.get("retryIntervals") or ["0s"]
            wait = parse_duration(intervals[min(done, len(intervals) - 1)])
            self.view.update(node, retries=done + 1)
            self._queue_attempt(node, attempt + 1, wait)
            return
        then = (spec.get("onRetryFailure") or {}).get("action")
        self._apply(node, then, error_type, message)

    def _retry_group(self, node: str, action: dict, error_type: str, message: str) -> None:
        group = self.plan.enclosing_group(node)
        if group is None:  # no group around the step: retry the step itself
            self._retry(node, self.view.get(node).get("attempt", 1), action, error_type, message, False)
            return
        spec = action.get("spec") or {}
        record = self.view.get(group)
        done = int(record.get("group_attempt", 1))
        if done > int(spec.get("retryCount", 0)):
            self._apply(node, (spec.get("onRetryFailure") or {}).get("action"), error_type, message)
            return
        intervals = spec.get("retryIntervals") or ["0s"]
        wait = parse_duration(intervals[min(done - 1, len(intervals) - 1)])
        view = self.view
        view.update(node, status=failure_status(error_type), ended_at=view.now)
        self._stop_descendants(group, Status.ABORTED, reset=True)
        fresh = self._container_record(view.get(group), group_attempt=done + 1)
        fresh.update(retry_pending=True)
        view.put(group, fresh)
        view.event(type="group_retry", node=group, group_attempt=done + 1, wait=wait)
        view.add_timer("group_retry", group, done + 1, view.now + wait)

    def _scope_failed(self, scope: str, action: dict | None, failed: Status, error_type: str | None,
                      message: str | None) -> None:
        """A stage or group failed as a whole (its timeout, its child pipeline)."""
        kind = action["type"] if action else None
        if kind:
            self.view.update(scope, action=kind)
        if kind == "Ignore":
            self._finish(scope, Status.IGNORE_FAILED)
        elif kind in ("MarkAsSuccess", "ProceedWithDefaultValues"):
            self._finish(scope, Status.SUCCESS)
        elif kind == "Abort":
            self.view.update(scope, status=failed, ended_at=self.view.now)
            self._abort_run(Status.ABORTED, f"aborted by the failure strategy of {scope}: {message}")
        elif kind == "PipelineRollback":
            self._pipeline_rollback(scope)
        elif kind == "StageRollback":
            self._scope_rollback(self.plan.node(scope).stage or scope, "rollback")
        elif kind == "StepGroupRollback":
            self._scope_rollback(scope, "rollback")
        else:  # Retry, ManualIntervention and MarkAsFailure have no meaning for a whole scope
            self._finish(scope, failed)

    # ======================================================================================
    # rollback
    # ======================================================================================
    def _rollback(self, node: str, kind: str) -> None:
        plan_node = self.plan.node(node)
        if kind == "PipelineRollback":
            self._pipeline_rollback(plan_node.stage or node)
            return
        scope = plan_node.stage
        if kind == "StepGroupRollback":
            scope = self.plan.enclosing_group(node) or plan_node.stage
        assert scope is not None
        self._scope_rollback(scope, "rollback")

    def _scope_rollback(self, scope: str, mode: str) -> None:
        """Stop what still runs in the scope, then run its rollbackSteps as a compensating chain."""
        view = self.view
        self._stop_descendants(scope, Status.ABORTED)
        view.del_timer("scope_timeout", scope, 0)  # the rollback is not bound by the scope's timeout
        view.update(scope, mode=mode)
        view.event(type="rollback", node=scope)
        section = self.plan.node(scope).rollback
        if section:
            view.put(section, self._container_record(view.get(section)))
            self._agenda.append(section)
        else:
            self._rollback_done(scope, Status.SUCCESS)

    def _pipeline_rollback(self, failing_stage: str) -> None:
        """Stop everything; roll back every stage that ran, last block first (SPEC §8)."""
        view = self.view
        root = view.get(ROOT)
        if root.get("mode") == "pipeline_rollback":
            return
        stages = [k for k, n in self.plan.nodes.items() if n.kind == "stage"]
        view.prefetch(stages)
        ran_slots = self.plan.node(ROOT).slots[: int(root.get("cursor", 0)) + 1]
        order: list[list[str]] = []
        for slot in reversed(ran_slots):
            members = [s for s in slot if self._needs_pipeline_rollback(s) or self._running_child(s)]
            if members:
                order.append(members)
        for stage in (s for slot in ran_slots for s in slot):
            if self.plan.node(stage).child_pipeline is None:
                self._stop_descendants(stage, Status.ABORTED)
                view.del_timer("scope_timeout", stage, 0)
        view.update(ROOT, mode="pipeline_rollback")
        view.event(type="rollback", node=ROOT, order=order)
        view.put(PIPELINE_ROLLBACK, self._container_record(view.get(PIPELINE_ROLLBACK), slots=order))
        self._agenda.append(PIPELINE_ROLLBACK)

    def _needs_pipeline_rollback(self, stage: str) -> bool:
        plan_node = self.plan.node(stage)
        if plan_node.child_pipeline is not None:  # a chained child is a separate run: left alone
            return False
        status = self.view.status(stage)
        return status not in (Status.NOT_STARTED, Status.SKIPPED, Status.ROLLED_BACK)

    def _running_child(self, stage: str) -> bool:
        """A chained child still running is neither rolled back nor stopped: the rollback waits for
        it, and its stage ends with the child's own final status."""
        return self.plan.node(stage).child_pipeline is not None and self.view.status(stage) == Status.RUNNING

    def _rollback_done(self, owner: str, section_status: str) -> None:
        final = Status.ROLLED_BACK if section_status in COUNTS_FOR_SUCCESS else Status.FAILED
        record = self.view.get(owner)
        if record.get("mode") == "pipeline_rollback":
            self.view.update(owner, status=final, ended_at=self.view.now)
            self.view.event(type="node", node=owner, status=final)
            self._child_done(PIPELINE_ROLLBACK, owner, final)
        else:
            self._finish(owner, final)

    # ======================================================================================
    # advancing containers
    # ======================================================================================
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
        from orchestrator.expressions import parse_condition  # local: keeps imports light
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
        self.view.command(Publish(node, attempt, self._queue(plan_node), plan_node.step_type or "", countdown))
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

    # ======================================================================================
    # stopping
    # ======================================================================================
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
