"""Side effects a transition asks for once its state change is committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Publish:
    """Send the Celery task of one step attempt."""

    node: str
    attempt: int
    queue: str
    step_type: str
    countdown: float = 0.0
    soft_time_limit: float | None = None
    """Celery's soft time limit (prefork): interrupts a step that cannot stop itself."""


@dataclass(frozen=True)
class CreateChild:
    """Create and start the child run of a ``type: Pipeline`` stage."""

    stage: str
    child_run_id: str
    pipeline: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class NotifyParent:
    """Tell the parent run that this (child) run finished."""

    parent_run_id: str
    parent_node: str
    child_run_id: str
    status: str
    error_type: str | None
    message: str | None


@dataclass(frozen=True)
class AbortChild:
    child_run_id: str
    status: str


Command = Publish | CreateChild | NotifyParent | AbortChild
