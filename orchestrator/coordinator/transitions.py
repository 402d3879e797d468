"""How a run moves: every event (a step attempt finished, a timer fired, an operator acted) as a
transition over a :class:`RunView`. Nothing here talks to Celery or commits; the caller commits the
view's payload atomically and then carries out its commands (see :mod:`engine`).

The layers: :mod:`containers` (advancing, starting and finishing nodes), :mod:`strategies.actions`
(the failure actions), :mod:`timers` (what due timers do), and here the events themselves.
"""

from __future__ import annotations

from typing import Any

from orchestrator.coordinator.containers import new_run_id
from orchestrator.coordinator.statuses import FINISHED, Status
from orchestrator.coordinator.timers import TimerHandlers
from orchestrator.plan.model import ROOT
from strategies.actions import failure_status
from strategies.errors import ErrorType

__all__ = ["OperatorError", "Transitions", "failure_status", "new_run_id"]

OPERATOR_ACTIONS = frozenset({
    "MarkAsSuccess", "Ignore", "Retry", "Abort", "StageRollback", "StepGroupRollback",
    "PipelineRollback", "MarkAsFailure",
})


class OperatorError(Exception):
    """An operator action that does not apply (unknown node, node not waiting): nothing changes."""


class Transitions(TimerHandlers):
    """Applies events to one run. Create one per transition attempt (it holds the agenda)."""

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
