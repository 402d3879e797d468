"""Strategy resolution: which action applies to a failure of each error type at a node.

Each level (stage, each enclosing step group from outer to inner, the step) expands to a map
error type -> action, where ``AllErrors`` stands for every type that the *same level* does not
name. Inner levels then override outer ones type by type, so a step that only says
``Timeout -> Retry`` still inherits the stage's ``AllErrors`` action for other types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from strategies.errors import ALL_ERRORS, ERROR_TYPES, ErrorType
from strategies.model import FailureStrategy

ActionDict = dict[str, Any]
Level = Sequence[FailureStrategy] | None


def action_dict(action: Any) -> ActionDict:
    """The JSON form of an action, with YAML key spelling (what `plan --json` prints)."""
    return action.model_dump(by_alias=True, exclude_none=True, mode="json")


def expand_level(strategies: Level) -> dict[ErrorType, ActionDict]:
    """One level's map error type -> action. Named types first; AllErrors fills the rest.

    Conflicts (one type mapped to two actions) are validation errors reported by
    :mod:`strategies.rules`; here the first mapping wins so resolution stays total.
    """
    named: dict[ErrorType, ActionDict] = {}
    fallback: ActionDict | None = None
    for strategy in strategies or ():
        action = action_dict(strategy.on_failure.action)
        for error in strategy.on_failure.errors:
            if error == ALL_ERRORS:
                if fallback is None:
                    fallback = action
            elif error in ErrorType._value2member_map_:
                named.setdefault(ErrorType(error), action)
    if fallback is not None:
        for error_type in ERROR_TYPES:
            named.setdefault(error_type, fallback)
    return named


def resolve(levels: Iterable[Level]) -> dict[ErrorType, ActionDict]:
    """Effective action per error type; ``levels`` go from outermost (stage) to innermost (step)."""
    effective: dict[ErrorType, ActionDict] = {}
    for level in levels:
        effective.update(expand_level(level))
    return effective
