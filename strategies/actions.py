"""The failure actions of SPEC §6 and §8 at run time: what Retry, Ignore, MarkAsSuccess,
MarkAsFailure, Abort, ManualIntervention, RetryStepGroup and the three rollbacks do to a run.

They extend :class:`orchestrator.coordinator.containers.ContainerFlow`: an action changes records
in the transition's view and lets containers move on; the caller commits it atomically.
"""

from __future__ import annotations

from typing import Any

from orchestrator.coordinator.containers import ContainerFlow
from orchestrator.coordinator.statuses import COUNTS_FOR_SUCCESS, Status
from orchestrator.model.common import parse_duration
from orchestrator.plan.model import PIPELINE_ROLLBACK, ROOT
from strategies.errors import ErrorType


def failure_status(error_type: str | None) -> Status:
    """The status a failure leaves: Timeout -> Expired, ApprovalRejection -> ApprovalRejected."""
    if error_type == ErrorType.TIMEOUT:
        return Status.EXPIRED
    if error_type == ErrorType.APPROVAL_REJECTION:
        return Status.APPROVAL_REJECTED
    return Status.FAILED


class FailureActions(ContainerFlow):

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
            self._pipeline_rollback()
        elif kind == "StageRollback":
            self._scope_rollback(self.plan.node(scope).stage or scope, "rollback")
        elif kind == "StepGroupRollback":
            self._scope_rollback(scope, "rollback")
        else:  # Retry, ManualIntervention and MarkAsFailure have no meaning for a whole scope
            self._finish(scope, failed)

    def _rollback(self, node: str, kind: str) -> None:
        plan_node = self.plan.node(node)
        if kind == "PipelineRollback":
            self._pipeline_rollback()
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

    def _pipeline_rollback(self) -> None:
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

