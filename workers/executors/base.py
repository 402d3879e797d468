"""The executor contract: plain classes that run one step attempt, independent of Celery.

An executor receives a :class:`StepContext` and either returns a :class:`Completed` result,
returns :class:`Suspended` (the step goes on without holding a worker slot: Wait, approvals), or
raises :class:`strategies.errors.StepError` naming the error type. Any other exception is
classified by :func:`strategies.classify.classify_exception`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel


@dataclass
class StepContext:
    run_id: str
    node_key: str
    attempt: int
    step_type: str
    spec: dict[str, Any]
    """The step's ``spec`` as written; expressions are rendered by the executor via ``render``."""
    timeout: float | None
    """Seconds this attempt may run (None: no limit). Executors stop their work when it is up."""
    render: Callable[[Any], Any]
    """Render every ``<+...>`` expression in a string/list/dict with its value (strings stay strings)."""
    resolve: Callable[[str], Any]
    """Value of one expression body, e.g. ``resolve("pipeline.variables.x")``."""
    cancelled: threading.Event = field(default_factory=threading.Event)
    """Set when the attempt was aborted, expired or declared lost elsewhere: stop as soon as possible."""
    step_name: str = ""
    stage_key: str | None = None


@dataclass
class Completed:
    output: dict[str, Any] = field(default_factory=dict)
    """JSON-serializable; ``output["outputVariables"]`` feeds ``<+...output.outputVariables.X>``."""


@dataclass
class Suspended:
    """The attempt stays open after the task returns; a timer or an operator finishes it."""

    status: str
    """``Running`` (Wait) or ``ApprovalWaiting`` (HarnessApproval)."""
    wake_after: float | None
    """Seconds until the timer fires (the Wait ends, the approval times out); None: no timer."""
    on_wake: str
    """What the timer means: ``succeed`` (Wait) or ``expire`` (approval timeout)."""
    output: dict[str, Any] = field(default_factory=dict)


StepOutcome = Completed | Suspended


class Executor(Protocol):
    spec_model: ClassVar[type[BaseModel] | None]
    """Validates ``step.spec`` at load time (None: any spec)."""

    def execute(self, ctx: StepContext) -> StepOutcome: ...
