"""Rules for failure strategies that span fields, entries or levels (SPEC §6).

The shape of a strategy (action types, Retry's retryCount >= 0 and non-empty retryIntervals of
valid durations, ManualIntervention's timeout) is enforced by :mod:`strategies.model`; this
module checks what one field cannot see:

- error types must exist; ``AllErrors`` may not share an entry with other types;
- one level may not map an error type (or ``AllErrors``) to two different actions;
- Retry / RetryStepGroup ``onRetryFailure`` may not retry again;
- ManualIntervention ``onTimeout`` may not be ManualIntervention or a retry;
- inside ``rollbackSteps`` no rollback action (StageRollback, StepGroupRollback,
  PipelineRollback), not even nested in onRetryFailure / onTimeout;
- ProceedWithDefaultValues only for InputTimeoutError;
- retry intervals and intervention timeouts must be fixed durations, not runtime inputs.

Problems carry a path relative to the ``failureStrategies`` list so callers can place them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.model.common import is_runtime_input
from strategies.errors import ALL_ERRORS, ERROR_TYPE_NAMES, ERROR_TYPES, ErrorType
from strategies.model import ROLLBACK_ACTIONS, FailureStrategy
from strategies.resolve import action_dict

RETRY_ACTIONS = frozenset({"Retry", "RetryStepGroup"})
PROCEED_ONLY_FOR = ErrorType.INPUT_TIMEOUT_ERROR.value

RelPath = tuple[str | int, ...]


@dataclass(frozen=True)
class StrategyProblem:
    path: RelPath
    """Relative to the failureStrategies list, e.g. ``(0, 'onFailure', 'errors', 1)``."""
    code: str
    message: str


def check_level(strategies: Sequence[FailureStrategy | None], *, in_rollback: bool = False) -> list[StrategyProblem]:
    """Every rule violation in one level's list. ``None`` entries (invalid shape) are skipped.

    ``in_rollback``: the level belongs to a step or step group inside ``rollbackSteps``.
    """
    problems: list[StrategyProblem] = []
    claimed: dict[str, tuple[dict[str, Any], int]] = {}
    for index, strategy in enumerate(strategies):
        if strategy is None:
            continue
        errors = strategy.on_failure.errors
        problems += _check_errors(index, errors)
        problems += _check_action(strategy.on_failure.action, (index, "onFailure", "action"), errors, in_rollback)
        action = action_dict(strategy.on_failure.action)
        for position, error in enumerate(errors):
            if error not in ERROR_TYPE_NAMES:
                continue
            earlier = claimed.get(error)
            if earlier is None:
                claimed[error] = (action, index)
            elif earlier[0] != action and earlier[1] != index:
                problems.append(StrategyProblem(
                    (index, "onFailure", "errors", position), "conflicting_strategy",
                    f"error type {error} is mapped to {action['type']} here and to {earlier[0]['type']} in "
                    f"entry [{earlier[1]}] of the same level; one level maps each error type to one action"))
    return problems


def _check_errors(index: int, errors: list[str]) -> Iterator[StrategyProblem]:
    for position, error in enumerate(errors):
        if error not in ERROR_TYPE_NAMES:
            close = difflib.get_close_matches(error, sorted(ERROR_TYPE_NAMES), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            yield StrategyProblem(
                (index, "onFailure", "errors", position), "unknown_error_type",
                f"unknown error type '{error}'{hint}; expected one of {', '.join(e.value for e in ERROR_TYPES)} "
                f"or {ALL_ERRORS}")
    if ALL_ERRORS in errors and any(e != ALL_ERRORS for e in errors):
        others = ", ".join(e for e in errors if e != ALL_ERRORS)
        yield StrategyProblem(
            (index, "onFailure", "errors"), "invalid_strategy",
            f"{ALL_ERRORS} may not be listed with other error types in one entry (also lists {others}); "
            f"put them in separate entries: {ALL_ERRORS} then covers every type the level does not name")


def _check_action(action: Any, path: RelPath, errors: list[str], in_rollback: bool) -> Iterator[StrategyProblem]:
    kind = action.type
    if in_rollback and kind in ROLLBACK_ACTIONS:
        yield StrategyProblem((*path, "type"), "invalid_strategy",
                              f"{kind} is not allowed for steps inside rollbackSteps: a rollback step cannot start "
                              "another rollback")
    if kind == "ProceedWithDefaultValues" and any(e != PROCEED_ONLY_FOR for e in errors):
        yield StrategyProblem((*path, "type"), "invalid_strategy",
                              f"ProceedWithDefaultValues applies only to {PROCEED_ONLY_FOR}; this entry covers "
                              f"{', '.join(errors)}")
    if kind in RETRY_ACTIONS:
        for offset, interval in enumerate(action.spec.retry_intervals):
            if is_runtime_input(interval):
                yield StrategyProblem((*path, "spec", "retryIntervals", offset), "invalid_strategy",
                                      "a retry interval must be a fixed duration such as 10s, not a runtime input")
        follow_up = action.spec.on_retry_failure
        if follow_up is not None:
            follow_path = (*path, "spec", "onRetryFailure", "action")
            if follow_up.action.type in RETRY_ACTIONS:
                yield StrategyProblem((*follow_path, "type"), "invalid_strategy",
                                      f"onRetryFailure may not be {follow_up.action.type}: after the last retry "
                                      "choose what happens (e.g. MarkAsFailure, Abort, StageRollback, ManualIntervention)")
            yield from _check_action(follow_up.action, follow_path, errors, in_rollback)
    if kind == "ManualIntervention":
        if is_runtime_input(action.spec.timeout):
            yield StrategyProblem((*path, "spec", "timeout"), "invalid_strategy",
                                  "the intervention timeout must be a fixed duration such as 1h, not a runtime input")
        on_timeout = action.spec.on_timeout
        timeout_path = (*path, "spec", "onTimeout", "action")
        if on_timeout.action.type == "ManualIntervention" or on_timeout.action.type in RETRY_ACTIONS:
            yield StrategyProblem((*timeout_path, "type"), "invalid_strategy",
                                  f"onTimeout may not be {on_timeout.action.type}: when nobody intervenes in time "
                                  "an action that needs no operator applies (e.g. MarkAsFailure, Abort, Ignore)")
        yield from _check_action(on_timeout.action, timeout_path, errors, in_rollback)
