"""Wait: pause the step for ``spec.duration`` without holding a worker slot.

Spec: ``duration`` (a Harness duration such as ``10s``, ``1m``, ``1h 30m``; an expression or
runtime input is rendered when the step runs). The executor returns at once with
``Suspended(status="Running", wake_after=<seconds>, on_wake="succeed")``: the coordinator's timer
finishes the step when the duration is over, so no worker process sleeps. Cancellation (abort)
is the coordinator's business: it drops the timer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from orchestrator.model.common import HarnessModel, parse_duration
from strategies.errors import ErrorType, StepError
from workers.executors.base import StepContext, Suspended


class WaitSpec(HarnessModel):
    duration: str

    @field_validator("duration", mode="before")
    @classmethod
    def _valid_duration(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"invalid duration {value!r}: give a unit, e.g. {value}s")
        if isinstance(value, str) and "<+" not in value:
            parse_duration(value)  # raises ValueError with the accepted forms
        return value


class WaitExecutor:
    """Runs ``Wait`` steps by suspending them; the timer fires after the duration."""

    spec_model: ClassVar[type[HarnessModel]] = WaitSpec

    def execute(self, ctx: StepContext) -> Suspended:
        spec = WaitSpec.model_validate(ctx.spec)
        text = spec.duration
        if "<+" in text:
            text = str(ctx.render(text))
        text = text.strip()
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise StepError(ErrorType.UNKNOWN, str(exc)) from exc
        return Suspended(status="Running", wake_after=seconds, on_wake="succeed", output={"duration": text})
