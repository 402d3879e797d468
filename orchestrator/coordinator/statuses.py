"""Node statuses and the rules of SPEC §7: what counts for Success/Failure gates and severity."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCESS = "Success"
    FAILED = "Failed"
    IGNORE_FAILED = "IgnoreFailed"
    SKIPPED = "Skipped"
    ABORTED = "Aborted"
    EXPIRED = "Expired"
    INTERVENTION_WAITING = "InterventionWaiting"
    APPROVAL_WAITING = "ApprovalWaiting"
    APPROVAL_REJECTED = "ApprovalRejected"
    ROLLED_BACK = "RolledBack"


FINISHED = frozenset({
    Status.SUCCESS, Status.FAILED, Status.IGNORE_FAILED, Status.SKIPPED, Status.ABORTED,
    Status.EXPIRED, Status.APPROVAL_REJECTED, Status.ROLLED_BACK,
})
ACTIVE = frozenset({
    Status.QUEUED, Status.RUNNING, Status.INTERVENTION_WAITING, Status.APPROVAL_WAITING,
})

COUNTS_FOR_SUCCESS = frozenset({Status.SUCCESS, Status.SKIPPED, Status.IGNORE_FAILED})
COUNTS_FOR_FAILURE = frozenset({Status.IGNORE_FAILED, Status.FAILED, Status.EXPIRED, Status.APPROVAL_REJECTED})

# Most severe first (SPEC §7); Skipped ranks with Success.
_SEVERITY = [
    Status.ABORTED, Status.FAILED, Status.EXPIRED, Status.APPROVAL_REJECTED,
    Status.ROLLED_BACK, Status.IGNORE_FAILED, Status.SUCCESS, Status.SKIPPED,
]
SEVERITY_RANK = {status.value: len(_SEVERITY) - i for i, status in enumerate(_SEVERITY)}


def more_severe(a: str | None, b: str | None) -> str | None:
    """The more severe of two finished statuses (None = nothing finished yet)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b


def aggregate(worst_child: str | None) -> Status:
    """A container's status from its most severe child (all children Skipped -> Success)."""
    if worst_child in (None, Status.SKIPPED):
        return Status.SUCCESS
    return Status(worst_child)


def is_success_like(status: str) -> bool:
    """Exit code 0 for the CLI: Success or IgnoreFailed."""
    return status in (Status.SUCCESS, Status.IGNORE_FAILED)
