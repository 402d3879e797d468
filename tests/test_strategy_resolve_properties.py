"""Property-based tests (hypothesis) of strategy resolution (strategies/resolve.py, SPEC §6).

A level is generated as what it means — an explicit map error type -> action plus an optional
AllErrors action — then written out as shuffled YAML-shaped entries. The expected result is
computed from that meaning, independently of the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.errors import ALL_ERRORS, ERROR_TYPES, ErrorType
from strategies.model import FailureStrategy
from strategies.resolve import expand_level, resolve
from strategies.rules import check_level

SIMPLE_ACTIONS = ["Ignore", "Abort", "MarkAsSuccess", "MarkAsFailure", "StageRollback", "PipelineRollback"]

actions = st.one_of(
    st.sampled_from(SIMPLE_ACTIONS).map(lambda kind: {"type": kind}),
    st.builds(
        lambda count, interval, then: {"type": "Retry", "spec": {
            "retryCount": count, "retryIntervals": [interval], "onRetryFailure": {"action": {"type": then}}}},
        st.integers(0, 5), st.sampled_from(["1s", "10s", "1m"]), st.sampled_from(SIMPLE_ACTIONS)),
)


@dataclass
class LevelMeaning:
    named: dict[ErrorType, dict[str, Any]]
    fallback: dict[str, Any] | None

    def expanded(self) -> dict[ErrorType, dict[str, Any]]:
        if self.fallback is None:
            return dict(self.named)
        return {t: self.named.get(t, self.fallback) for t in ERROR_TYPES}


@st.composite
def level_meanings(draw: st.DrawFn) -> LevelMeaning:
    named_types = draw(st.lists(st.sampled_from(ERROR_TYPES), unique=True, max_size=len(ERROR_TYPES)))
    named = {t: draw(actions) for t in named_types}
    fallback = draw(st.none() | actions)
    return LevelMeaning(named, fallback)


def _entry(errors: list[str], action: dict[str, Any]) -> FailureStrategy:
    return FailureStrategy.model_validate({"onFailure": {"errors": errors, "action": action}})


@st.composite
def written_levels(draw: st.DrawFn, meaning: LevelMeaning) -> list[FailureStrategy]:
    """One way of writing ``meaning`` as entries: types sharing an action may share an entry,
    a type may even be repeated; entries and the errors inside them come in any order."""
    groups: list[tuple[list[str], dict[str, Any]]] = []
    for error_type, action in meaning.named.items():
        same = [g for g in groups if g[1] == action]
        if same and draw(st.booleans()):
            same[0][0].append(error_type.value)
        else:
            groups.append(([error_type.value], action))
        if draw(st.integers(0, 9)) == 0:
            groups.append(([error_type.value], action))  # the same type twice with an identical action
    if meaning.fallback is not None:
        groups.append(([ALL_ERRORS], meaning.fallback))
    entries = [_entry(draw(st.permutations(errors)), action) for errors, action in groups]
    return draw(st.permutations(entries))


@st.composite
def levels_with_meaning(draw: st.DrawFn) -> tuple[LevelMeaning, list[FailureStrategy]]:
    meaning = draw(level_meanings())
    return meaning, draw(written_levels(meaning))


@settings(max_examples=300, deadline=None)
@given(levels_with_meaning())
def test_all_errors_fills_only_what_the_same_level_leaves_unnamed(level: tuple[LevelMeaning, list[FailureStrategy]]) -> None:
    meaning, written = level
    assert expand_level(written) == meaning.expanded()


@settings(max_examples=200, deadline=None)
@given(level_meanings(), st.data())
def test_result_does_not_depend_on_entry_order(meaning: LevelMeaning, data: st.DataObject) -> None:
    first = data.draw(written_levels(meaning))
    second = data.draw(st.permutations(first))
    assert expand_level(first) == expand_level(second)
    assert resolve([first]) == resolve([second])


@settings(max_examples=200, deadline=None)
@given(level_meanings().filter(lambda m: m.fallback is not None and m.named))
def test_named_entries_beat_all_errors_whether_listed_before_or_after(meaning: LevelMeaning) -> None:
    named = [_entry([t.value], a) for t, a in meaning.named.items()]
    fallback = _entry([ALL_ERRORS], meaning.fallback)
    assert expand_level([fallback, *named]) == expand_level([*named, fallback]) == meaning.expanded()
    for error_type, action in meaning.named.items():
        assert expand_level([fallback, *named])[error_type] == action


@settings(max_examples=300, deadline=None)
@given(st.lists(levels_with_meaning(), min_size=1, max_size=4))
def test_inner_levels_win_per_error_type(levels: list[tuple[LevelMeaning, list[FailureStrategy]]]) -> None:
    """Levels go stage, outer group, ..., step; each type takes the innermost level that covers it."""
    expected: dict[ErrorType, dict[str, Any]] = {}
    for meaning, _ in levels:  # outer to inner: inner ones overwrite
        expected.update(meaning.expanded())
    assert resolve([written for _, written in levels]) == expected


@settings(max_examples=200, deadline=None)
@given(levels_with_meaning(), levels_with_meaning())
def test_a_step_naming_some_types_keeps_the_stage_all_errors_for_the_rest(
        stage: tuple[LevelMeaning, list[FailureStrategy]], step: tuple[LevelMeaning, list[FailureStrategy]]) -> None:
    stage_meaning, stage_written = stage
    step_meaning, step_written = step
    result = resolve([stage_written, step_written])
    if step_meaning.fallback is None:
        for error_type in ERROR_TYPES:
            if error_type not in step_meaning.named:
                assert result.get(error_type) == stage_meaning.expanded().get(error_type)


@settings(max_examples=200, deadline=None)
@given(levels_with_meaning())
def test_generated_levels_satisfy_the_rules(level: tuple[LevelMeaning, list[FailureStrategy]]) -> None:
    assert check_level(level[1]) == []


@settings(max_examples=200, deadline=None)
@given(levels_with_meaning(), st.sampled_from(ERROR_TYPES), actions, st.data())
def test_a_second_action_for_a_type_is_a_conflict(level: tuple[LevelMeaning, list[FailureStrategy]],
                                                  error_type: ErrorType, other: dict[str, Any],
                                                  data: st.DataObject) -> None:
    meaning, written = level
    current = meaning.named.get(error_type)
    if current is None or current == other:
        return
    entries = data.draw(st.permutations([*written, _entry([error_type.value], other)]))
    problems = check_level(entries)
    assert problems  # once per entry that disagrees with the type's first mapping
    assert all(p.code == "conflicting_strategy" and f"error type {error_type.value} " in p.message for p in problems)
