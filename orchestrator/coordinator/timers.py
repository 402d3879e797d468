"""What each kind of timer does when it comes due (see docs/ARCHITECTURE.md, "Timers")."""

from __future__ import annotations

from orchestrator.coordinator.commands import CreateChild, Publish
from orchestrator.coordinator.containers import soft_time_limit_for
from orchestrator.coordinator.statuses import FINISHED, Status
from strategies.actions import FailureActions
from strategies.errors import ErrorType


class TimerHandlers(FailureActions):
    """``_on_<kind>(node, attempt) -> bool``: False when the timer no longer applies.

    ``child_finished`` is here because the ``child`` timer is its guard: it is both the event a
    finished child run sends and what that timer applies when the notice got lost."""

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
            self.view.command(Publish(node, attempt, queue, plan_node.step_type or "",
                                      soft_time_limit=soft_time_limit_for(plan_node)))
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
