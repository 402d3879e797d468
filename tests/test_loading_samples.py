"""Real Harness files (tests/fixtures/harness-samples, copied from ../shared/harness-samples) load.

Acceptance of issue 2: every sample except the fragment 12.yaml validates with at most
``unknown_step_type`` errors, and ``plan`` answers "what happens if this step fails with X?".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from strategies.errors import ERROR_TYPES
from tests.design_helpers import CHILD_STUBS, DESIGN, SAMPLES, plan_json, validate_json

SAMPLE_FILES = sorted(SAMPLES.glob("*.yaml"), key=lambda p: int(p.stem))
ALL_TYPES = [e.value for e in ERROR_TYPES]

POLL_SANITY_CHAIN = {
    "type": "Retry",
    "spec": {
        "retryCount": 120,
        "retryIntervals": ["1m"],
        "onRetryFailure": {"action": {
            "type": "ManualIntervention",
            "spec": {"timeout": "2h", "onTimeout": {"action": {"type": "MarkAsFailure"}}},
        }},
    },
}


def test_thirteen_samples_are_there() -> None:
    assert [p.name for p in SAMPLE_FILES] == [f"{n}.yaml" for n in range(1, 14)]


@pytest.mark.parametrize("sample", [p for p in SAMPLE_FILES if p.name != "12.yaml"], ids=lambda p: p.name)
def test_sample_validates_with_only_unknown_step_types(sample: Path) -> None:
    document = validate_json(sample, "--pipelines-dir", CHILD_STUBS)
    other = [e for e in document["errors"] if e["code"] != "unknown_step_type"]
    assert other == []
    for error in document["errors"]:
        assert error["file"] == str(sample) and error["line"] and error["path"].endswith((".type", ".template"))


def test_fragment_twelve_is_reported_as_such() -> None:
    document = validate_json(SAMPLES / "12.yaml")
    assert [e["code"] for e in document["errors"]] == ["unknown_root"]
    assert "fragment" in document["errors"][0]["message"]


@pytest.mark.parametrize(("sample", "child"), [("2.yaml", "BuildDocker"), ("11.yaml", "child")])
def test_chained_samples_need_their_child_pipelines(sample: str, child: str) -> None:
    document = validate_json(SAMPLES / sample)  # the default pipelines dir has no such child
    missing = [e for e in document["errors"] if e["code"] == "missing_child_pipeline"]
    assert len(missing) == 1 and f"'{child}'" in missing[0]["message"]
    assert missing[0]["path"].endswith(".spec.pipeline")


def test_chained_sample_plan_carries_the_child_plan() -> None:
    plan = plan_json(SAMPLES / "11.yaml", "--pipelines-dir", CHILD_STUBS)
    assert plan["nodes"]["child_pipeline"]["pipeline"] == "child"
    assert "echo.show" in plan["children"]["child"]["nodes"]


def _step(plan: dict, identifier: str) -> tuple[str, dict]:
    keys = [k for k, n in plan["nodes"].items() if n["kind"] == "step" and k.split(".")[-1] == identifier]
    assert len(keys) == 1, keys
    return keys[0], plan["nodes"][keys[0]]


def test_stage_template_thirteen_poll_sanity_urls_chain() -> None:
    plan = plan_json(SAMPLES / "13.yaml")
    assert plan["pipeline"] == "Golden_K8s"
    key, node = _step(plan, "poll_sanity_urls")
    assert key == "Golden_K8s.post_steps_primary.trigger_sanity.poll_sanity_urls"
    assert node["type"] == "Http"
    assert list(node["strategies"]) == ALL_TYPES
    for error_type in ALL_TYPES:
        assert node["strategies"][error_type] == POLL_SANITY_CHAIN, error_type


def test_plan_lists_nodes_in_execution_order_with_kinds() -> None:
    plan = plan_json(SAMPLES / "13.yaml")
    keys = list(plan["nodes"])
    assert keys[0] == "Golden_K8s" and plan["nodes"]["Golden_K8s"]["kind"] == "stage"
    assert plan["nodes"]["Golden_K8s.pre_requisite"]["kind"] == "group"
    assert keys.index("Golden_K8s.pre_requisite.Check_namespace_env_mapping") < keys.index("Golden_K8s.mandatory")
    assert keys[-2:] == ["Golden_K8s.rollback", "Golden_K8s.rollback.rollbackRolloutDeployment"]
    assert plan["nodes"]["Golden_K8s.rollback"]["kind"] == "rollback"
    rollback_step = plan["nodes"]["Golden_K8s.rollback.rollbackRolloutDeployment"]
    assert rollback_step["in_rollback"] is True and rollback_step["strategies"] == {}  # no stage strategy inherited


def test_step_naming_one_type_gets_the_stage_all_errors_for_the_rest_sample_one() -> None:
    plan = plan_json(SAMPLES / "1.yaml")
    _, node = _step(plan, "your_create_step_id")
    assert node["strategies"]["Timeout"] == {"type": "Retry", "spec": {
        "retryCount": 1, "retryIntervals": ["10s"], "onRetryFailure": {"action": {"type": "StageRollback"}}}}
    for error_type in ALL_TYPES:
        if error_type != "Timeout":
            assert node["strategies"][error_type] == {"type": "StageRollback"}, error_type


def test_partial_strategies_merge_per_error_type_across_groups_and_stage() -> None:
    plan = plan_json(DESIGN / "partial_strategies.yaml")
    _, poll = _step(plan, "poll_sanity_urls")
    retry_then_intervene = dict(POLL_SANITY_CHAIN)
    assert poll["strategies"]["Timeout"] == retry_then_intervene          # the step's own
    assert poll["strategies"]["Connectivity"] == {"type": "Abort"}        # inner group beats outer group
    assert poll["strategies"]["Authentication"] == {"type": "Ignore"}     # outer group
    for error_type in set(ALL_TYPES) - {"Timeout", "Connectivity", "Authentication"}:
        assert poll["strategies"][error_type] == {"type": "StageRollback"}, error_type  # the stage's AllErrors
    _, verify = _step(plan, "verify_poll_urls_status")
    assert verify["strategies"]["Timeout"] == {"type": "StageRollback"}   # a sibling's strategy does not leak
    assert verify["strategies"]["Connectivity"] == {"type": "Abort"}
    _, rollback = _step(plan, "rollback_notice")
    assert rollback["strategies"] == {}
