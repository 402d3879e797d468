"""The stored form of a plan: exact round trip, and strategies written once per distinct map."""

from __future__ import annotations

from orchestrator.loading import load_pipeline
from orchestrator.plan.model import plan_from_json, plan_to_json
from tests.conftest import FIXTURES
from tests.pipeline_builders import on, pipeline, py, stage


def test_round_trip_of_every_sample() -> None:
    for path in sorted((FIXTURES / "harness-samples").glob("*.yaml")):
        if path.name == "12.yaml":
            continue
        plan = load_pipeline(path, allow_unknown_step_types=True,
                             pipelines_dir=FIXTURES / "harness-children").plan
        assert plan_from_json(plan_to_json(plan)) == plan, path.name


def test_shared_strategies_are_stored_once() -> None:
    def size(steps: int) -> int:
        source = pipeline("big", [stage("s", [py(f"a{i}") for i in range(steps)],
                                        strategies=[on("Timeout", "Retry", retryCount=2, retryIntervals=["1s"],
                                                       onRetryFailure={"action": {"type": "Abort"}}),
                                                    on("AllErrors", "StageRollback")])])
        plan = load_pipeline(source).plan
        assert all(len(plan.node(f"s.a{i}").strategies) == 12 for i in range(steps))
        return len(plan_to_json(plan))

    per_step = (size(200) - size(100)) / 100
    assert per_step < 250, f"{per_step:.0f} bytes per step: strategy maps are being repeated"
