"""Semantic validation: identifiers, step types and specs, `when`, stage shapes, conditions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from orchestrator.loading import load_pipeline, validate_pipeline
from tests.design_helpers import line_of, one_step_pipeline, write
from workers.executors import registry

STEP = "pipeline.stages[0].stage.spec.execution.steps[0].step"


class DeploySpec(BaseModel):
    replicas: int
    image: str


class DeployExecutor:
    spec_model: ClassVar[type[BaseModel]] = DeploySpec

    def execute(self, ctx):  # pragma: no cover - never run here
        raise NotImplementedError


@pytest.fixture
def deploy_type() -> Iterator[str]:
    registry.register_executor("TestDeploy", DeployExecutor)
    yield "TestDeploy"
    registry._registered.pop("TestDeploy", None)


def _codes(path: Path) -> list[tuple[str, str]]:
    return [(i.code, i.path) for i in validate_pipeline(path)]


def test_a_registered_step_type_is_known(tmp_path: Path, deploy_type: str) -> None:
    text = one_step_pipeline().replace("type: ShellScript", f"type: {deploy_type}").replace(
        "shell: Bash", "replicas: 2\n                    image: app:1")
    assert _codes(write(tmp_path, "p.yaml", text)) == []


def test_spec_checked_against_the_executor_spec_model(tmp_path: Path, deploy_type: str) -> None:
    text = one_step_pipeline().replace("type: ShellScript", f"type: {deploy_type}").replace(
        "shell: Bash", "replicas: many")
    issues = validate_pipeline(write(tmp_path, "p.yaml", text))
    assert sorted((i.code, i.path, i.line) for i in issues) == [
        ("invalid_step_spec", f"{STEP}.spec.image", line_of(text, "spec:", 2)),
        ("invalid_step_spec", f"{STEP}.spec.replicas", line_of(text, "replicas: many")),
    ]


def test_whole_value_expressions_are_not_type_checked(tmp_path: Path, deploy_type: str) -> None:
    text = one_step_pipeline().replace("type: ShellScript", f"type: {deploy_type}").replace(
        "shell: Bash", "replicas: <+pipeline.variables.replicas>\n                    image: <+input>")
    assert _codes(write(tmp_path, "p.yaml", text)) == []


def test_builtin_spec_models_are_used(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("type: ShellScript", "type: Wait").replace("shell: Bash", "duration: soonish")
    issues = validate_pipeline(write(tmp_path, "p.yaml", text))
    assert ("invalid_step_spec", f"{STEP}.spec.duration") in [(i.code, i.path) for i in issues]


def test_step_without_type_or_template(tmp_path: Path) -> None:
    text = one_step_pipeline().replace("                  type: ShellScript\n", "")
    assert _codes(write(tmp_path, "p.yaml", text)) == [("unknown_step_type", STEP)]


def test_group_and_step_share_the_sibling_scope(tmp_path: Path) -> None:
    text = one_step_pipeline() + """\
              - stepGroup:
                  identifier: compile
                  steps:
                    - step:
                        identifier: inner
                        type: ShellScript
                        spec: {shell: Bash, source: {type: Inline, spec: {script: echo}}}
"""
    assert _codes(write(tmp_path, "p.yaml", text)) == [
        ("duplicate_identifier", "pipeline.stages[0].stage.spec.execution.steps[1].stepGroup.identifier")]


def test_same_identifier_in_different_groups_is_fine(tmp_path: Path) -> None:
    group = """\
              - stepGroup:
                  identifier: {name}
                  steps:
                    - step:
                        identifier: compile
                        type: ShellScript
                        spec: {{shell: Bash, source: {{type: Inline, spec: {{script: echo}}}}}}
"""
    text = one_step_pipeline() + group.format(name="g1") + group.format(name="g2")
    loaded = load_pipeline(write(tmp_path, "p.yaml", text))
    assert {"build.compile", "build.g1.compile", "build.g2.compile"} <= set(loaded.plan.nodes)


def test_identifier_rollback_next_to_rollback_steps_collides(tmp_path: Path) -> None:
    rollback = "- step:\n    identifier: undo\n    type: ShellScript\n    spec: {shell: Bash, source: {type: Inline, spec: {script: echo}}}\n"
    text = one_step_pipeline(rollback=rollback).replace("identifier: compile", "identifier: rollback")
    issues = validate_pipeline(write(tmp_path, "p.yaml", text))
    assert [(i.code, i.path) for i in issues] == [("duplicate_identifier", f"{STEP}.identifier")]
    assert "build.rollback" in issues[0].message


@pytest.mark.parametrize(("extra", "where", "wrong"), [
    ("when:\n  stageStatus: Success", "stage", "stageStatus"),
    ("when:\n  pipelineStatus: Success", "step", "pipelineStatus"),
])
def test_when_uses_the_status_key_of_its_level(tmp_path: Path, extra: str, where: str, wrong: str) -> None:
    text = one_step_pipeline(**{("stage_extra" if where == "stage" else "step_extra"): extra})
    [issue] = validate_pipeline(write(tmp_path, "p.yaml", text))
    assert issue.code == "invalid_when" and issue.path.endswith(f"when.{wrong}")
    assert issue.line == line_of(text, f"{wrong}: Success")


def test_when_status_value_is_checked(tmp_path: Path) -> None:
    text = one_step_pipeline(step_extra="when:\n  stageStatus: Sucess")
    [issue] = validate_pipeline(write(tmp_path, "p.yaml", text))
    assert (issue.code, issue.path) == ("invalid_value", f"{STEP}.when.stageStatus")
    assert "expected one of Success, Failure, All" in issue.message


def test_stage_without_execution(tmp_path: Path) -> None:
    text = "pipeline:\n  identifier: p\n  stages:\n    - stage:\n        identifier: s\n        type: Deployment\n        spec:\n          deploymentType: Kubernetes\n"
    [issue] = validate_pipeline(write(tmp_path, "p.yaml", text))
    assert (issue.code, issue.path, issue.line) == ("missing_field", "pipeline.stages[0].stage.spec.execution", 7)
    assert "Deployment needs spec.execution.steps" in issue.message


@pytest.mark.parametrize("condition", [
    '<+pipeline.variables.env> == "prod" && <+stage.name> != "x"',
    "true",
    "<+input>",
    '<+input>.allowedValues(a,b)',
])
def test_conditions_that_parse_or_are_runtime_inputs(tmp_path: Path, condition: str) -> None:
    text = one_step_pipeline(step_extra=f"when:\n  stageStatus: All\n  condition: '{condition}'")
    assert _codes(write(tmp_path, "p.yaml", text)) == []


@pytest.mark.parametrize("condition", ['<+pipeline.variables.env> = "prod"', "(1 == 1", "&& x"])
def test_conditions_that_do_not_parse(tmp_path: Path, condition: str) -> None:
    text = one_step_pipeline(stage_extra=f"when:\n  pipelineStatus: All\n  condition: '{condition}'")
    [issue] = validate_pipeline(write(tmp_path, "p.yaml", text))
    assert (issue.code, issue.path) == ("invalid_condition", "pipeline.stages[0].stage.when.condition")
    assert condition in issue.message and "\n" not in issue.message


def test_broken_plugin_is_an_issue_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_PLUGINS", "no_such_plugin_module_xyz")
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    issues = validate_pipeline(write(tmp_path, "p.yaml", one_step_pipeline()))
    assert [i.code for i in issues] == ["plugin_error"]
    assert "no_such_plugin_module_xyz" in issues[0].message
    monkeypatch.setattr(registry, "_plugins_loaded", False)


def test_plan_node_lines_point_at_the_yaml(tmp_path: Path) -> None:
    text = one_step_pipeline()
    plan = load_pipeline(write(tmp_path, "p.yaml", text)).plan
    assert plan.nodes["build"].line == line_of(text, "- stage:")
    assert plan.nodes["build.compile"].line == line_of(text, "- step:")


def test_every_issue_code_is_documented() -> None:
    from orchestrator.loading import ISSUE_CODES

    reference = (Path(__file__).parents[1] / "docs" / "yaml-reference.md").read_text()
    table = {line.split("`")[1] for line in reference.splitlines() if line.startswith("| `")}
    assert set(ISSUE_CODES) <= table
